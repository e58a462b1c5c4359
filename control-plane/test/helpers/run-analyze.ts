/** Runs `minimesh analyze` in-process with captured output, optionally from another folder. */
import { analyzeCommand } from '../../src/cli/analyze.js';
import type { KubeGet } from '../../src/analyze/kube-resources.js';

export interface AnalyzeRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export async function runAnalyze(argv: readonly string[], opts: { cwd?: string; kubeGet?: KubeGet; stdin?: string } = {}): Promise<AnalyzeRun> {
  let stdout = '';
  let stderr = '';
  const before = process.cwd();
  if (opts.cwd) process.chdir(opts.cwd);
  try {
    const code = await analyzeCommand(argv, {
      stdout: (s) => (stdout += s),
      stderr: (s) => (stderr += s),
      readStdin: () => opts.stdin ?? '',
      isTTY: false,
      kubeGet: async () => {
        if (!opts.kubeGet) throw new Error('no cluster in this test');
        return opts.kubeGet;
      },
    });
    return { code, stdout, stderr };
  } finally {
    process.chdir(before);
  }
}
