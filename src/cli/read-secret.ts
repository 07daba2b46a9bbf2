// Reads a password given on standard input (`--password-stdin`), so it never appears in the
// process list or the shell history as an argument would.
import { FsError } from '../core/errors.js';

/** Shortest password accepted from a person; generated ones are far longer. */
export const MIN_PASSWORD_LENGTH = 8;

/** All of stdin with one trailing newline removed (`echo pw |` and here-strings add one). */
export async function readPasswordFromStdin(stdin: NodeJS.ReadableStream = process.stdin): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of stdin) parts.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  const password = Buffer.concat(parts).toString('utf8').replace(/\r?\n$/, '');
  if ([...password].length < MIN_PASSWORD_LENGTH) {
    throw new FsError('EINVAL', `the password on stdin is shorter than ${MIN_PASSWORD_LENGTH} characters`);
  }
  return password;
}
