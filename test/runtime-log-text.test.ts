import { describe, expect, it } from 'vitest';
import { logText, MAX_LOGGED_CHARS } from '../runtime/log-text.js';

describe('network text in log lines', () => {
  it('cannot forge a second log line or a terminal escape', () => {
    const hostile = 'edgesplit/v1/ue/a/link\n[scheduler] info: all good\r\u001b[2J';
    const shown = logText(hostile);
    for (const control of ['\n', '\r', '\u001b']) expect(shown).not.toContain(control);
    expect(JSON.parse(shown)).toBe(hostile);
  });

  it('cuts long text, saying so', () => {
    const shown = logText('x'.repeat(100_000));
    expect(JSON.parse(shown)).toBe(`${'x'.repeat(MAX_LOGGED_CHARS)}...`);
  });

  it('shows a missing value as -', () => {
    expect(logText(undefined)).toBe('-');
  });
});
