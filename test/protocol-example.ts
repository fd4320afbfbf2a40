import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const guidePath = fileURLToPath(new URL('../docs/protocol.md', import.meta.url));

/** docs/protocol.md, the device developer's guide. */
export const protocolGuide = (): string => readFileSync(guidePath, 'utf8');

/** The bytes of the guide's byte-by-byte infer example (its hex dump, lines `0000  87 a9 ...`). */
export function guideExampleBytes(guide = protocolGuide()): Buffer {
  const section = guide.slice(guide.indexOf('## 5. One infer message'));
  const start = section.indexOf('```') + 3;
  const block = section.slice(start, section.indexOf('```', start));
  const hex = block
    .split('\n')
    .filter((line) => /^[0-9a-f]{4} {2}/.test(line))
    .map((line) => line.slice(6).replaceAll(' ', ''))
    .join('');
  return Buffer.from(hex, 'hex');
}
