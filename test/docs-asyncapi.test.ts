import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Parser } from '@asyncapi/parser';
import { describe, expect, it } from 'vitest';
import { MESSAGE_KINDS } from '../proto/index.js';
import { asyncApiYaml } from '../scripts/asyncapi-yaml.js';
import { contractValidator } from './contract.js';

const documentPath = fileURLToPath(new URL('../docs/asyncapi.yaml', import.meta.url));
const committed = readFileSync(documentPath, 'utf8');

describe('docs/asyncapi.yaml', () => {
  it('is exactly what the protocol schemas generate (npm run docs:asyncapi)', () => {
    expect(committed).toBe(asyncApiYaml());
  });

  it('is a valid AsyncAPI 3.0 document for the AsyncAPI parser, without errors', async () => {
    const { document, diagnostics } = await new Parser().parse(committed);
    const errors = diagnostics
      .filter((d) => d.severity === 0)
      .map((d) => `${d.path.join('.')}: ${d.message}`);
    expect(errors).toEqual([]);
    expect(document?.version()).toBe('3.0.0');
    expect(document?.channels().length).toBe(10);
    const sent = document
      ?.operations()
      .filter((op) => op.action() === 'send')
      .map((op) => op.channels().all()[0]?.address());
    expect(sent).toEqual(
      expect.arrayContaining(['edgesplit/v1/ue/{ue}/infer', 'edgesplit/v1/ue/{ue}/status']),
    );
  });

  it('has a payload schema for every message kind, which refuses a payload missing a field', () => {
    const validator = contractValidator();
    for (const kind of MESSAGE_KINDS) expect(validator.kinds()).toContain(kind);
    expect(validator.problems('status', { state: 'online', agentVersion: 'x', at: 1 })).toEqual([]);
    expect(validator.problems('status', { state: 'online', at: 1 })).toEqual([
      expect.stringContaining('agentVersion'),
    ]);
  });
});
