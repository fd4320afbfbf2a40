import { readFileSync } from 'node:fs';
import { Duplex } from 'node:stream';
import { Aedes, type Client } from 'aedes';
import { afterEach, describe, expect, it } from 'vitest';
import {
  AedesInternalsError,
  aedesVersion,
  assertClientInternals,
  checkAedesInternals,
  missingClientInternals,
} from '../broker/index.js';

const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  dependencies: Record<string, string>;
};

/** Closed after each test. */
const opened: Aedes[] = [];
afterEach(async () => {
  for (const aedes of opened.splice(0))
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
});

/** A real aedes client, on a stream that never connects. */
async function realClient(): Promise<Client> {
  const aedes = await Aedes.createBroker();
  opened.push(aedes);
  const stream = new Duplex({
    read() {},
    write(_chunk, _encoding, callback) {
      callback();
    },
  });
  return aedes.handle(stream);
}

describe('aedes internals self-check', () => {
  it('passes on the aedes version package.json pins, which is the one installed', async () => {
    expect(aedesVersion()).toBe(manifest.dependencies.aedes);
    await expect(checkAedesInternals()).resolves.toBeUndefined();
    expect(missingClientInternals(await realClient())).toEqual([]);
  });

  it('fails naming the aedes version and the field when a client has no _parsingBatch', async () => {
    const client = await realClient();
    delete (client as unknown as Record<string, unknown>)._parsingBatch;
    let thrown: unknown;
    try {
      assertClientInternals(client);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(AedesInternalsError);
    const error = thrown as AedesInternalsError;
    expect(error.message).toContain(`aedes ${manifest.dependencies.aedes} lacks`);
    expect(error.message).toContain('_parsingBatch (typeof undefined, expected number)');
    expect(error.missing).toEqual(['_parsingBatch (typeof undefined, expected number)']);
  });

  it('names every internal of the wrong type: resume not a function, _nextBatch missing', async () => {
    const client = await realClient();
    const fields = client as unknown as Record<string, unknown>;
    fields.resume = 'resume';
    delete fields._nextBatch;
    expect(() => assertClientInternals(client, '9.9.9')).toThrow(
      /aedes 9\.9\.9 lacks .*_nextBatch \(typeof undefined, expected function\), resume \(typeof string, expected function\)/,
    );
  });
});
