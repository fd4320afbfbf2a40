import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { cliPath } from './cli-run.js';
import { testRedisUrl } from './services.js';

/**
 * Runs the built CLI with stdout on a pipe whose reading end is closed after the first chunk,
 * as `edgesplit ... | head -c N` does, and resolves with how it ended and what it wrote to
 * stderr.
 */
function runClosingStdout(
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; read: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, ...args], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let read = 0;
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text: string) => {
      stderr += text;
    });
    child.stdout.once('data', (chunk: Buffer) => {
      read = chunk.length;
      child.stdout.destroy();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stderr, read });
    });
  });
}

describe('a reader that closes stdout early (| head)', () => {
  it('`fleet generate` of 10,000 UEs exits 0 with no error or stack trace on stderr', async () => {
    const result = await runClosingStdout([
      'fleet',
      'generate',
      '--ues',
      '10000',
      '--units',
      '8',
      '--seed',
      '1',
    ]);
    expect(result.read).toBeGreaterThan(0);
    // Its one stderr line is the fleet's contention summary; nothing about the closed pipe.
    expect(result.stderr).toMatch(/^10000 UEs \(scenario catalog, R = 8; [^\n]*\)\n$/);
    expect(result.stderr).not.toMatch(/EPIPE|Error|\n\s+at /);
    expect(result).toMatchObject({ code: 0, signal: null });
  }, 130_000);

  it('`up` (running until stopped) stops by itself, exits 0, and prints no stack trace', async () => {
    const result = await runClosingStdout(
      ['up', '--port', '0', '--executor', 'emulated', '--ues', '2', '--summary-every', '0.5'],
      { ...process.env, REDIS_URL: testRedisUrl() },
    );
    expect(result.read).toBeGreaterThan(0);
    expect(result.stderr).not.toMatch(/EPIPE|\n\s+at /);
    expect(result.stderr).not.toMatch(/SIGTERM/);
    expect(result).toMatchObject({ code: 0, signal: null });
  }, 130_000);
});
