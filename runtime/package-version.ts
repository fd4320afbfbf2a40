import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The version in edgesplit's package.json, read once: the one place the version is written.
 * Sources run from the checkout (runtime/) and the build from dist/runtime/, so the file is
 * looked for upward from this module rather than at a fixed depth.
 */
export const PACKAGE_VERSION: string = readPackageVersion();

function readPackageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'package.json');
    const version = versionIn(candidate);
    if (version !== undefined) return version;
    const parent = dirname(dir);
    if (parent === dir)
      throw new Error('edgesplit: package.json not found above the installed code');
    dir = parent;
  }
}

function versionIn(path: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  const parsed: unknown = JSON.parse(text);
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const { name, version } = parsed as { name?: unknown; version?: unknown };
  return name === 'edgesplit' && typeof version === 'string' ? version : undefined;
}
