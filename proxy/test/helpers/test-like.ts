/** The part of tap's Test the helpers use (keeps them free of tap's types). */
export interface TestLike {
  teardown(fn: () => unknown): void;
}
