// fsync of a folder, shared by the callers that ask at once (a group commit): a rename into the
// folder is durable once the folder itself is fsynced (POSIX), and write-back staging renames one
// chunk after another, four at a time. Each caller waits for an fsync that began after it asked,
// so none is acknowledged on an fsync that may have missed its rename; callers arriving while one
// runs share the next. Staging 1 GiB took 1,024 folder fsyncs before, one per chunk.
import { fsyncPath } from '../core/fsync.js';

export class FolderSync {
  private running: Promise<void> | undefined;
  private next: Promise<void> | undefined;

  /** `fsync` is replaceable for tests. */
  constructor(
    private readonly dir: string,
    private readonly fsync: (dir: string) => Promise<void> = fsyncPath,
  ) {}

  /** Resolves once an fsync of the folder that started after this call has finished. */
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
    const run = this.fsync(this.dir).finally(() => {
      if (this.running === run) this.running = undefined;
    });
    this.running = run;
    return run;
  }
}
