/**
 * What a main-thread wrapper of a worker thread (DecisionLinesWriter, BackgroundMemory) waits on: one waiter
 * at a time, woken by the thread's next message or failure, and the thread's first error, kept.
 */
export class ThreadSignal {
  /** the first failure of the thread (later ones are dropped: the first is the cause) */
  error: Error | null = null;
  #wake: (() => void) | null = null;

  /** records the thread's failure (the first one wins) and wakes the waiter */
  fail(e: Error): void {
    this.error ??= e;
    this.wake();
  }

  /** wakes the waiter, if any */
  wake(): void {
    const w = this.#wake;
    this.#wake = null;
    w?.();
  }

  /** resolves at the next wake: a message or a failure (check the state again after it) */
  next(): Promise<void> {
    return new Promise<void>((r) => (this.#wake = r));
  }
}
