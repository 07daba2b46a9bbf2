// Shared sections that run side by side, and exclusive ones that wait until no shared section
// runs and hold new ones back while they run: a read/write lock without fairness between
// exclusive callers (they are serialized by their caller's own mutex already).

export class SharedGate {
  private running = 0;
  private closed: Promise<void> | undefined;
  private drained: (() => void) | undefined;

  async shared<T>(fn: () => Promise<T>): Promise<T> {
    while (this.closed) await this.closed;
    this.running++;
    try {
      return await fn();
    } finally {
      if (--this.running === 0) this.drained?.();
    }
  }

  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    while (this.closed) await this.closed;
    let open!: () => void;
    this.closed = new Promise<void>((resolve) => (open = resolve));
    try {
      if (this.running > 0) await new Promise<void>((resolve) => (this.drained = resolve));
      this.drained = undefined;
      return await fn();
    } finally {
      this.closed = undefined;
      open();
    }
  }
}
