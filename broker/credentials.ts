/**
 * Where identities come from: a credentials file (JSON, scrypt hashes) and tokens from the
 * environment. Usernames are ids (`[A-Za-z0-9._-]{1,64}`): an edge worker's username is its
 * worker id, and the broker prefixes client ids with the username (no `:` can be forged).
 */
import { randomBytes } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { z } from 'zod';
import { idSchema, issuesOf, isValidId } from '../proto/index.js';
import { asError } from '../runtime/as-error.js';
import { isRole, ROLES, type Role } from './acl.js';
import { CredentialsError } from './errors.js';
import { parsePasswordHash } from './password.js';

/** One user of a credentials file. */
export interface UserRecord {
  readonly username: string;
  readonly role: Role;
  /** The UE this credential speaks for; required for role `ue`, absent otherwise. */
  readonly ue?: string;
  /** `scrypt$N$r$p$saltB64$hashB64`, see `hashPassword`. */
  readonly passwordHash: string;
}

/** One token from `EDGESPLIT_TOKENS`: the token is the MQTT password. */
export interface TokenRecord {
  readonly username: string;
  readonly role: Role;
  readonly ue?: string;
  readonly token: string;
}

/** Shortest token accepted: a short shared secret is a guessable password. */
export const MIN_TOKEN_LENGTH = 16;

const userSchema = z
  .object({
    username: idSchema,
    role: z.enum(ROLES, { error: `must be one of ${ROLES.join(', ')}` }),
    ue: idSchema.optional(),
    passwordHash: z.string({ error: 'must be a string' }),
  })
  .superRefine((user, ctx) => {
    if (user.role === 'ue' && user.ue === undefined)
      ctx.addIssue({ code: 'custom', path: ['ue'], message: 'is required for role ue' });
    if (user.role !== 'ue' && user.ue !== undefined)
      ctx.addIssue({ code: 'custom', path: ['ue'], message: 'is only allowed for role ue' });
    try {
      parsePasswordHash(user.passwordHash);
    } catch (error) {
      const message = error instanceof Error ? error.message : 'is not a password hash';
      ctx.addIssue({ code: 'custom', path: ['passwordHash'], message });
    }
  });

const fileSchema = z.object(
  { users: z.array(userSchema, { error: 'must be an array of users' }) },
  { error: 'must be an object { users: [...] }' },
);

function checkUnique(usernames: readonly string[], where: string): void {
  const seen = new Set<string>();
  for (const name of usernames) {
    if (seen.has(name)) throw new CredentialsError(`${where}: username "${name}" appears twice`);
    seen.add(name);
  }
}

/** Validates the contents of a credentials file. */
export function parseCredentials(text: string, path = 'credentials'): UserRecord[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new CredentialsError(`${path}: not valid JSON`, { cause });
  }
  const result = fileSchema.safeParse(json);
  if (!result.success)
    throw new CredentialsError(`${path}: ${issuesOf('', result.error).join('; ')}`);
  const users = result.data.users.map(
    (user): UserRecord => ({
      username: user.username,
      role: user.role,
      passwordHash: user.passwordHash,
      ...(user.ue === undefined ? {} : { ue: user.ue }),
    }),
  );
  checkUnique(
    users.map((user) => user.username),
    path,
  );
  return users;
}

/** Reads and validates a credentials file. */
export async function readCredentialsFile(path: string): Promise<UserRecord[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    const reason = (cause as NodeJS.ErrnoException).code ?? String(cause);
    throw new CredentialsError(`cannot read credentials file ${path}: ${reason}`, { cause });
  }
  return parseCredentials(text, path);
}

/**
 * Adds `user` to the credentials file at `path` (created if missing) or replaces the user of
 * that name. Written to a temporary file and renamed, readable by the owner only.
 */
export async function upsertUser(path: string, user: UserRecord): Promise<'added' | 'updated'> {
  let users: UserRecord[] = [];
  try {
    users = await readCredentialsFile(path);
  } catch (error) {
    const code = (asError(error).cause as NodeJS.ErrnoException | undefined)?.code;
    if (code !== 'ENOENT') throw error;
  }
  // Validate the new user the same way the broker will.
  parseCredentials(JSON.stringify({ users: [user] }), 'new user');
  const index = users.findIndex((existing) => existing.username === user.username);
  const outcome = index === -1 ? 'added' : 'updated';
  if (index === -1) users.push(user);
  else users[index] = user;
  const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(temporary, `${JSON.stringify({ users }, null, 2)}\n`, { mode: 0o600 });
  await rename(temporary, path);
  return outcome;
}

/**
 * Parses `EDGESPLIT_TOKENS`: comma-separated `username:role:token`, or `username:ue:UE:token`
 * for a UE. Errors name the entry by position and never quote a token.
 */
export function parseTokens(text: string): TokenRecord[] {
  const entries = text
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  const tokens = entries.map((entry, i): TokenRecord => {
    const where = `EDGESPLIT_TOKENS entry ${i + 1}`;
    const parts = entry.split(':');
    const [username = '', role = ''] = parts;
    if (!isValidId(username))
      throw new CredentialsError(`${where}: username must be 1-64 characters of [A-Za-z0-9._-]`);
    if (!isRole(role))
      throw new CredentialsError(`${where}: role must be one of ${ROLES.join(', ')}`);
    const expected = role === 'ue' ? 4 : 3;
    if (parts.length !== expected) {
      const shape = role === 'ue' ? 'username:ue:UE:token' : 'username:role:token';
      throw new CredentialsError(`${where}: must be ${shape}`);
    }
    const token = parts[expected - 1] ?? '';
    if (token.length < MIN_TOKEN_LENGTH)
      throw new CredentialsError(`${where}: token must be at least ${MIN_TOKEN_LENGTH} characters`);
    if (role !== 'ue') return { username, role, token };
    const ue = parts[2] ?? '';
    if (!isValidId(ue))
      throw new CredentialsError(`${where}: UE id must be 1-64 characters of [A-Za-z0-9._-]`);
    return { username, role, ue, token };
  });
  checkUnique(
    tokens.map((token) => token.username),
    'EDGESPLIT_TOKENS',
  );
  return tokens;
}
