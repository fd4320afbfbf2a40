/** `edgesplit broker add-user`: adds (or replaces) a user in a credentials file. */
import type { Command } from 'commander';
import { hashPassword, isRole, ROLES, upsertUser } from '../../broker/index.js';
import { isValidId, OptionError } from '../../proto/index.js';
import { fail } from './broker-fail.js';
import { readPassword } from './broker-password.js';

interface AddUserFlags {
  readonly file: string;
  readonly username: string;
  readonly role: string;
  readonly ue?: string;
}

async function addUser(flags: AddUserFlags): Promise<void> {
  try {
    if (!isValidId(flags.username))
      throw new OptionError('--username must be 1-64 characters of [A-Za-z0-9._-]');
    const { role, ue } = flags;
    if (!isRole(role)) throw new OptionError(`--role must be one of ${ROLES.join(', ')}`);
    if (role === 'ue' && ue === undefined) throw new OptionError('role ue needs --ue ID');
    if (role !== 'ue' && ue !== undefined) throw new OptionError('--ue is only for role ue');
    if (ue !== undefined && !isValidId(ue))
      throw new OptionError('--ue must be 1-64 characters of [A-Za-z0-9._-]');
    const passwordHash = await hashPassword(await readPassword());
    const user = {
      username: flags.username,
      role,
      passwordHash,
      ...(ue === undefined ? {} : { ue }),
    };
    const outcome = await upsertUser(flags.file, user);
    process.stderr.write(`${outcome} user ${flags.username} (role ${role}) in ${flags.file}\n`);
  } catch (error) {
    fail(error);
  }
}

export function registerAddUserCommand(broker: Command): void {
  broker
    .command('add-user')
    .description('add (or replace) a user in a credentials file; the password is read from stdin')
    .requiredOption('--file <file>', 'credentials file (created if missing)')
    .requiredOption('--username <name>', 'username (an edge worker: its worker id)')
    .requiredOption('--role <role>', `one of ${ROLES.join(', ')}`)
    .option('--ue <id>', 'the UE id (role ue only)')
    .action(addUser);
}
