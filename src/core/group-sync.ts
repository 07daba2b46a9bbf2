// An fsync shared by the callers that ask at once (a group commit). Each caller waits for an
// fsync that began after it asked, so none is acknowledged on an fsync that may have missed its
// write; callers arriving while one runs share the next. Used for write-back staging (a rename
// into the folder is durable once the folder is fsynced, POSIX; staging 1 GiB took 1,024 folder
// fsyncs before, one per chunk) and for SQLite's write-ahead log (sqlite-driver.ts).
export class GroupSync {
  private running: Promise<void> | undefined;
  private next: Promise<void> | undefined;

  /** `fsync` is the shared operation, e.g. `() => fsyncPath(dir)`. */
  constructor(private readonly fsync: () => Promise<void>) {}

  /** Resolves once an fsync that started after this call has finished. */
  sync(): Promise<void> {
    if (this.running === undefined) return this.start();
    this.next ??= this.running
      .catch(() => undefined)
      .then(() => {
        this.next = undefined;
        return this.start();
      });
    return this.next;
  }

  private start(): Promise<void> {
    const run = this.fsync().finally(() => {
      if (this.running === run) this.running = undefined;
    });
    this.running = run;
    return run;
  }
}
