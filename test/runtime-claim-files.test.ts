import { mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ClaimDirError,
  ClaimFiles,
  FILE_CLAIM_MARKER,
  isFileClaimMarker,
} from '../runtime/claim-files.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'edgesplit-claim-test-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('ClaimFiles', () => {
  it('a staged tensor is invisible until committed, then loads byte for byte; removing it leaves nothing', () => {
    const files = new ClaimFiles(dir);
    const key = 'edgesplit:claim:{ue-1}:r1';
    const bytes = Buffer.from(Float32Array.from([1, 2.5, -3]).buffer);
    const staged = files.stage(key, bytes);
    expect(files.load(key)).toBeNull();
    files.commit(staged, key);
    expect(files.load(key)).toEqual(bytes);
    files.remove(key);
    expect(files.load(key)).toBeNull();
    expect(readdirSync(dir)).toEqual([]);
    // Removing again, or discarding a staging file that is gone, is no error.
    files.remove(key);
    files.discard(staged);
  });

  it('file names are hashes of the key: no UE or request id reaches a path', () => {
    const files = new ClaimFiles(dir);
    const path = files.fileOf('edgesplit:claim:{../../etc}:/passwd');
    expect(path.startsWith(`${dir}/`)).toBe(true);
    expect(path.slice(dir.length + 1)).toMatch(/^[0-9a-f]{40}$/);
  });

  it('a second copy of a request replaces the first on commit; a discarded copy leaves no file', () => {
    const files = new ClaimFiles(dir);
    const key = 'k';
    files.commit(files.stage(key, Buffer.from('first')), key);
    files.discard(files.stage(key, Buffer.from('dropped')));
    files.commit(files.stage(key, Buffer.from('second')), key);
    expect(files.load(key)?.toString()).toBe('second');
    expect(readdirSync(dir)).toHaveLength(1);
  });

  it('sweep removes only its own files older than the given age', async () => {
    const files = new ClaimFiles(dir);
    files.commit(files.stage('old', Buffer.from('x')), 'old');
    files.stage('old-staged', Buffer.from('y'));
    files.commit(files.stage('new', Buffer.from('z')), 'new');
    writeFileSync(join(dir, 'not-ours'), 'keep');
    const past = new Date(Date.now() - 60_000);
    for (const name of readdirSync(dir))
      if (name !== files.fileOf('new').slice(dir.length + 1))
        utimesSync(join(dir, name), past, past);
    expect(await files.sweep(30_000)).toBe(2);
    expect(files.load('old')).toBeNull();
    expect(files.load('new')?.toString()).toBe('z');
    expect(readdirSync(dir).sort()).toEqual(
      [files.fileOf('new').slice(dir.length + 1), 'not-ours'].sort(),
    );
  });

  it('refuses a relative path and a path that is a file, naming the directory', () => {
    expect(() => new ClaimFiles('relative/dir')).toThrow(ClaimDirError);
    expect(() => new ClaimFiles('relative/dir')).toThrow(/absolute path/);
    const file = join(dir, 'a-file');
    writeFileSync(file, '');
    expect(() => new ClaimFiles(file)).toThrow(
      new RegExp(`claim directory ${file} cannot be used`),
    );
  });

  it('creates a missing directory, and tells whether it is a tmpfs', () => {
    const files = new ClaimFiles(join(dir, 'made', 'here'));
    expect(readdirSync(join(dir, 'made'))).toEqual(['here']);
    expect(typeof files.tmpfs).toBe('boolean');
    if (dir.startsWith('/dev/shm')) expect(files.tmpfs).toBe(true);
  });

  it('the marker a claim key holds is told apart from tensor bytes', () => {
    expect(isFileClaimMarker(FILE_CLAIM_MARKER)).toBe(true);
    expect(isFileClaimMarker(Buffer.from(FILE_CLAIM_MARKER.toString().toUpperCase()))).toBe(false);
    expect(isFileClaimMarker(new Uint8Array(FILE_CLAIM_MARKER.length))).toBe(false);
  });
});
