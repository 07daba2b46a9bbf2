// Runs one litmus suite (Debian package `litmus`) against a URL and parses its summary line.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface LitmusResult {
  suite: string;
  run: number;
  passed: number;
  failed: number;
  warnings: number;
  /** Lines naming failed or warned tests, for the assertion message. */
  problems: string[];
  output: string;
}

export function runLitmus(url: string, suite: string, auth: string[] = []): Promise<LitmusResult> {
  return new Promise((resolve, reject) => {
    // Each suite in its own folder: litmus writes debug.log into the working directory.
    const cwd = mkdtempSync(join(tmpdir(), `litmus-${suite}-`));
    const child = spawn('litmus', [url, ...auth], { cwd, env: { ...process.env, TESTS: suite } });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    child.on('error', (err) => reject(new Error(`cannot run litmus (apt-get install litmus; .ci/run does): ${err.message}`)));
    child.on('exit', () => {
      // eslint-disable-next-line no-control-regex
      const clean = out.replace(/\x1b\[[0-9;]*m/g, '').replace(/\r/g, '\n');
      const m = /of (\d+) tests run: (\d+) passed, (\d+) failed/.exec(clean);
      const w = /-> (\d+) warnings? (?:was|were) issued/.exec(clean);
      if (!m) return reject(new Error(`litmus ${suite} printed no summary:\n${clean.slice(-2000)}`));
      resolve({
        suite,
        run: Number(m[1]),
        passed: Number(m[2]),
        failed: Number(m[3]),
        warnings: w ? Number(w[1]) : 0,
        problems: clean.split('\n').filter((l) => /FAIL|WARNING/.test(l)),
        output: clean,
      });
    });
  });
}
