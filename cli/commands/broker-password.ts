/** Reading a password for the `broker` subcommands that take one on stdin. */
import { UsageError } from './broker-fail.js';

/** Reads a password from stdin (all of it, without the final newline). */
export async function readPassword(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write('password (then Enter and Ctrl-D): ');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.from(chunk as Buffer));
  const password = Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
  if (password === '') throw new UsageError('empty password on stdin');
  if (password.length > 1024) throw new UsageError('password longer than 1024 characters');
  return password;
}
