import { Unpackr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage, type InferRequest } from '../proto/index.js';
import { guideExampleBytes, protocolGuide } from './protocol-example.js';

const guide = protocolGuide();
const dumpBytes = guideExampleBytes;

const example: InferRequest = {
  requestId: 'cam-1-0-0',
  epoch: 1,
  model: 'tiny-cnn',
  cut: 7,
  sample: 0,
  tensor: { dtype: 'float32', shape: [1, 32], data: new Float32Array(32).fill(0.25) },
  sentAt: Date.UTC(2026, 0, 1),
};

describe('docs/protocol.md', () => {
  it("shows, byte for byte, what the codec writes for the guide's infer example", () => {
    const bytes = dumpBytes(guide);
    expect(bytes.length).toBe(238);
    expect(guide).toContain(`${bytes.length} bytes:`);
    expect(bytes.equals(encodeMessage(example))).toBe(true);
  });

  it('has an example that validates, and that a plain msgpack decoder reads as bin data', () => {
    const bytes = dumpBytes(guide);
    const decoded = decodeMessage('infer', bytes);
    expect(decoded.ok).toBe(true);
    if (decoded.ok) expect(Array.from(decoded.value.tensor.data)).toEqual(Array(32).fill(0.25));
    const plain = new Unpackr({ useRecords: false, mapsAsObjects: true }).unpack(bytes) as {
      tensor: { data: unknown };
    };
    expect(plain.tensor.data).toBeInstanceOf(Uint8Array);
    expect((plain.tensor.data as Uint8Array).byteLength).toBe(128);
  });

  it('derives UE keys exactly as the guide says', async () => {
    const { createHmac } = await import('node:crypto');
    const { deriveUeKey } = await import('../runtime/ue-key.js');
    const fleetKey = 'k'.repeat(40);
    const byGuide = createHmac('sha256', fleetKey)
      .update('edgesplit/ue-key/v1:cam-1')
      .digest('base64')
      .replaceAll('+', '-')
      .replaceAll('/', '_')
      .replace(/=+$/, '');
    expect(guide).toContain('"edgesplit/ue-key/v1:" + ueId');
    expect(deriveUeKey(fleetKey, 'cam-1')).toBe(byGuide);
    expect(byGuide).toHaveLength(43);
  });
});
