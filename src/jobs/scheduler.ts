// Runs named background jobs on node-cron schedules: never two runs of one job at once, and the
// outcome of each job's last run kept for the status endpoint and the logs.
import { createTask, validate, type Logger as CronLogger, type ScheduledTask } from 'node-cron';
import type { Logger } from '../core/log.js';

export interface Job {
  /** Unique name, e.g. `cache-purge`; used in logs and the status endpoint. */
  name: string;
  /** node-cron expression: five fields, or six with seconds first (`*\/10 * * * * *`). */
  cron: string;
  /** A disabled job is listed in the status but never scheduled (runNow() still runs it). */
  enabled: boolean;
  /** One run. Resolves with a summary (JSON-serialisable) that becomes the job's last result. */
  run(): Promise<object>;
}

export interface JobStatus {
  name: string;
  cron: string;
  enabled: boolean;
  running: boolean;
  /** Finished runs, successful or not. */
  runs: number;
  failures: number;
  /** Scheduled runs skipped because the previous run had not finished. */
  skipped: number;
  /** ISO times of the latest start (of the run in progress, if any) and of the last end. */
  lastStart: string | null;
  lastEnd: string | null;
  lastDurationMs: number | null;
  outcome: 'ok' | 'error' | null;
  /** The error message of a failed run. */
  message: string | null;
  /** What the last successful run returned. */
  lastResult: object | null;
  /** ISO time of the next scheduled run (null when not scheduled). */
  nextRun: string | null;
}

interface Entry {
  job: Job;
  task: ScheduledTask | undefined;
  /** The run in progress. */
  current: Promise<void> | undefined;
  runs: number;
  failures: number;
  skipped: number;
  lastStartMs: number | null;
  lastEndMs: number | null;
  lastDurationMs: number | null;
  outcome: 'ok' | 'error' | null;
  message: string | null;
  lastResult: object | null;
}

export class JobScheduler {
  private readonly entries = new Map<string, Entry>();
  private started = false;
  private stopped = false;

  constructor(
    jobs: readonly Job[],
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {
    for (const job of jobs) {
      if (this.entries.has(job.name)) throw new RangeError(`two jobs named ${job.name}`);
      if (!validate(job.cron)) throw new RangeError(`job ${job.name}: "${job.cron}" is not a cron expression`);
      this.entries.set(job.name, {
        job,
        task: undefined,
        current: undefined,
        runs: 0,
        failures: 0,
        skipped: 0,
        lastStartMs: null,
        lastEndMs: null,
        lastDurationMs: null,
        outcome: null,
        message: null,
        lastResult: null,
      });
    }
  }

  /** Schedules every enabled job. */
  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    const logger = cronLogger(this.log);
    for (const entry of this.entries.values()) {
      if (!entry.job.enabled) continue;
      // Our own overlap check (in tick) rather than node-cron's noOverlap, so that a skip is
      // counted and logged with the job's name.
      entry.task = createTask(entry.job.cron, () => this.tick(entry), { name: `davfs-bridge:${entry.job.name}`, logger });
      void entry.task.start();
    }
    const enabled = [...this.entries.values()].filter((e) => e.job.enabled).map((e) => `${e.job.name} (${e.job.cron})`);
    this.log.info({ jobs: enabled }, 'jobs scheduled');
  }

  /**
   * Runs a job now, whether enabled or not (CLI, tests, the snapshot at shutdown). If a run of it
   * is in progress, waits for that run and then runs again: the caller wants a run that started
   * after its call. Resolves with the job's status afterwards; a failed run does not reject.
   * `reason` goes into the log lines (e.g. `shutdown`).
   */
  async runNow(name: string, reason = 'manual'): Promise<JobStatus> {
    const entry = this.entries.get(name);
    if (!entry) throw new RangeError(`no job named ${name}`);
    while (entry.current) await entry.current;
    await this.launch(entry, reason);
    return this.describe(entry);
  }

  status(): JobStatus[] {
    return [...this.entries.values()].map((e) => this.describe(e));
  }

  get(name: string): JobStatus | undefined {
    const entry = this.entries.get(name);
    return entry && this.describe(entry);
  }

  /** Unschedules every job and waits for runs in progress to finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const entry of this.entries.values()) {
      await entry.task?.destroy();
      entry.task = undefined;
    }
    await Promise.all([...this.entries.values()].map((e) => e.current));
  }

  /** A scheduled firing: skipped (and logged) while the previous run still goes. */
  private tick(entry: Entry): void {
    if (this.stopped) return;
    if (entry.current) {
      entry.skipped++;
      this.log.warn({ job: entry.job.name, since: iso(entry.lastStartMs) }, 'job still running; this run skipped');
      return;
    }
    void this.launch(entry, 'scheduled');
  }

  /** Runs the job once and records the outcome; never rejects. */
  private launch(entry: Entry, reason: string): Promise<void> {
    const { name } = entry.job;
    const start = this.now();
    entry.lastStartMs = start;
    this.log.debug({ job: name, reason }, 'job started');
    const run = (async () => {
      try {
        const result = await entry.job.run();
        entry.outcome = 'ok';
        entry.message = null;
        entry.lastResult = result;
        this.log.info({ job: name, reason, durationMs: this.now() - start, result }, 'job done');
      } catch (err) {
        entry.failures++;
        entry.outcome = 'error';
        entry.message = err instanceof Error ? err.message : String(err);
        this.log.error({ job: name, reason, durationMs: this.now() - start, err }, 'job failed');
      } finally {
        entry.runs++;
        entry.lastEndMs = this.now();
        entry.lastDurationMs = entry.lastEndMs - start;
        entry.current = undefined;
      }
    })();
    entry.current = run;
    return run;
  }

  private describe(e: Entry): JobStatus {
    const next = e.task?.getNextRun() ?? null;
    return {
      name: e.job.name,
      cron: e.job.cron,
      enabled: e.job.enabled,
      running: e.current !== undefined,
      runs: e.runs,
      failures: e.failures,
      skipped: e.skipped,
      lastStart: iso(e.lastStartMs),
      lastEnd: iso(e.lastEndMs),
      lastDurationMs: e.lastDurationMs,
      outcome: e.outcome,
      message: e.message,
      lastResult: e.lastResult,
      nextRun: next ? next.toISOString() : null,
    };
  }
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

/** node-cron's own messages (e.g. a missed run under load) into our log instead of the console. */
function cronLogger(log: Logger): CronLogger {
  return {
    info: (message) => log.debug({ source: 'node-cron' }, message),
    warn: (message) => log.warn({ source: 'node-cron' }, message),
    error: (message, err) => log.error({ source: 'node-cron', err: err ?? message }, typeof message === 'string' ? message : message.message),
    debug: (message) => log.debug({ source: 'node-cron' }, String(message)),
  };
}
