/** `edgesplit broker hash-password`: prints the scrypt hash of a password read from stdin. */
import type { Command } from 'commander';
import { hashPassword } from '../../broker/index.js';
import { fail } from './broker-fail.js';
import { readPassword } from './broker-password.js';

async function printHash(): Promise<void> {
  try {
    process.stdout.write(`${await hashPassword(await readPassword())}\n`);
  } catch (error) {
    fail(error);
  }
}

export function registerHashPasswordCommand(broker: Command): void {
  broker
    .command('hash-password')
    .description('read a password from stdin and print its scrypt hash for a credentials file')
    .action(printHash);
}
