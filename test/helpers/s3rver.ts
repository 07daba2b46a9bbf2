// Test helper: runs s3rver (a fake S3) in a child process on a free loopback port, with one bucket.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { S3ObjectStoreOptions } from '../../src/store/s3-store.js';

/** What the s3rver and Swift helpers hand to tests. */
export interface S3TestServer {
  endpoint: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** The server's process, where the test runs it (s3rver): benchmarks read its CPU time. */
  pid?: number;
  /** Stops the server (s3rver) or removes the bucket (Swift); safe to call twice. */
  stop(): Promise<void>;
}

/** Options for an S3ObjectStore on the test server. */
export function s3StoreOptions(server: S3TestServer, extra: Partial<S3ObjectStoreOptions> = {}): S3ObjectStoreOptions {
  return {
    bucket: server.bucket,
    endpoint: server.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    ...extra,
  };
}

// Runs in the child. It exits when its stdin closes, so a test process that dies (or forgets to
// call stop()) never leaves an s3rver behind.
const CHILD = `
const [s3rverPath, directory, bucket] = process.argv.slice(1);
const S3rver = require(s3rverPath);
const server = new S3rver({ address: '127.0.0.1', port: 0, directory, silent: true, configureBuckets: [{ name: bucket, configs: [] }] });
server.run().then((address) => {
  process.stdout.write(JSON.stringify({ port: address.port }) + '\\n');
}, (err) => { console.error(err); process.exit(1); });
process.stdin.on('end', () => server.close().finally(() => process.exit(0)));
process.stdin.resume();
`;

/** Starts s3rver with a fresh temp directory and bucket "davfs-test". */
export async function startS3rver(): Promise<S3TestServer> {
  const directory = await mkdtemp(join(tmpdir(), 'davfs-s3rver-'));
  const bucket = 'davfs-test';
  const s3rverPath = createRequire(import.meta.url).resolve('s3rver');
  const child = spawn(process.execPath, ['-e', CHILD, s3rverPath, directory, bucket], {
    // Without the legacy provider, s3rver 3.7.1 on Node 20 answers ListObjectsV2 pages after the
    // first with 500 (it encrypts continuation tokens with a cipher OpenSSL 3 retired).
    env: { ...process.env, NODE_OPTIONS: '--openssl-legacy-provider' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const port = await new Promise<number>((resolve, reject) => {
    let stdout = '';
    const timer = setTimeout(() => reject(new Error(`s3rver did not start within 10 s: ${stderr}`)), 10_000);
    child.stdout.setEncoding('utf8').on('data', (text: string) => {
      stdout += text;
      const line = stdout.split('\n')[0];
      if (stdout.includes('\n') && line !== undefined) {
        clearTimeout(timer);
        const parsed: unknown = JSON.parse(line);
        if (typeof parsed === 'object' && parsed !== null && 'port' in parsed && typeof parsed.port === 'number') resolve(parsed.port);
        else reject(new Error(`s3rver said ${line}`));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`s3rver exited with ${code}: ${stderr}`));
    });
  });

  let stopped = false;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    ...(child.pid === undefined ? {} : { pid: child.pid }),
    async stop() {
      if (stopped) return;
      stopped = true;
      child.stdin.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
      await rm(directory, { recursive: true, force: true });
    },
  };
}
