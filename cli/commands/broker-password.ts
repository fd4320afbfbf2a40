/** Reading a password for the `broker` subcommands that take one on stdin. */
import { OptionError } from '../../proto/index.js';

/** Reads a password from stdin (all of it, without the final newline). */
export async function readPassword(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write('password (then Enter and Ctrl-D): ');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.from(chunk as Buffer));
  const password = Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
  if (password === '') throw new OptionError('empty password on stdin');
  if (password.length > 1024) throw new OptionError('password longer than 1024 characters');
  return password;
}
