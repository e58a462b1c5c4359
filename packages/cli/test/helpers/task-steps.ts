/** The types of examples/tasks/task-steps.js, which the task tests import at run time. Not a test file. */
export interface TaskSteps {
  /** `kubectl apply`: the documents of `text` replace those of the same kind, namespace and name in `file`. */
  applyManifests(file: string, text: string): void;
  /** Runs `once` n times in turn and counts each distinct reply (`error: ...` for a failure). */
  countReplies(once: () => Promise<string>, n: number): Promise<Record<string, number>>;
  waitFor(what: string, cond: () => Promise<boolean>, ms: number): Promise<void>;
}
