/**
 * `tsx benchmarks/cpu-profile-summary.ts FILE.cpuprofile [PATTERN]`: where a V8 CPU profile
 * (`node --cpu-prof`) spent its time: the functions with the most self time, the scripts with
 * the most, and, with PATTERN (a regular expression on a frame's script URL, e.g. `prom-client`),
 * the share of all samples that have such a frame on their stack (inclusive time).
 */
import { readFileSync } from 'node:fs';
import { renderTable } from '../runtime/table.js';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}
interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}
interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

const [file, pattern] = process.argv.slice(2);
if (file === undefined) {
  process.stderr.write('usage: cpu-profile-summary FILE.cpuprofile [URL-PATTERN]\n');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const parent = new Map<number, number>();
for (const node of profile.nodes)
  for (const child of node.children ?? []) parent.set(child, node.id);

const selfMs = new Map<number, number>();
let totalMs = 0;
profile.samples.forEach((id, index) => {
  const ms = (profile.timeDeltas[index] ?? 0) / 1000;
  selfMs.set(id, (selfMs.get(id) ?? 0) + ms);
  totalMs += ms;
});

const shortUrl = (url: string) =>
  url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*?\/(?=[a-z-]+\/[^/]+$)/, '');
const label = (frame: CallFrame) =>
  `${frame.functionName || '(anonymous)'} ${shortUrl(frame.url)}:${frame.lineNumber + 1}`;

/** The `count` entries with the most time, as a table under a column named `what`. */
function top(entries: Map<string, number>, count: number, what: string): string {
  const rows = [...entries]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, ms]) => [`${ms.toFixed(0)} ms`, `${((100 * ms) / totalMs).toFixed(1)}%`, name]);
  return renderTable(['self time', 'share', what], rows);
}

const byFunction = new Map<string, number>();
const byScript = new Map<string, number>();
for (const [id, ms] of selfMs) {
  const frame = byId.get(id)?.callFrame;
  if (frame === undefined) continue;
  byFunction.set(label(frame), (byFunction.get(label(frame)) ?? 0) + ms);
  const script = frame.url === '' ? `(${frame.functionName})` : shortUrl(frame.url);
  byScript.set(script, (byScript.get(script) ?? 0) + ms);
}
const lines = [
  `${file}: ${totalMs.toFixed(0)} ms sampled`,
  'self time by function:',
  top(byFunction, 25, 'function'),
  'self time by script:',
  top(byScript, 15, 'script'),
];
if (pattern !== undefined) {
  const match = new RegExp(pattern);
  const cache = new Map<number, boolean>();
  const under = (id: number): boolean => {
    const known = cache.get(id);
    if (known !== undefined) return known;
    const node = byId.get(id);
    const up = parent.get(id);
    const result =
      node !== undefined && (match.test(node.callFrame.url) || (up !== undefined && under(up)));
    cache.set(id, result);
    return result;
  };
  let inside = 0;
  const insideByFunction = new Map<string, number>();
  for (const [id, ms] of selfMs) {
    const frame = byId.get(id)?.callFrame;
    if (frame === undefined || !under(id)) continue;
    inside += ms;
    insideByFunction.set(label(frame), (insideByFunction.get(label(frame)) ?? 0) + ms);
  }
  lines.push(`self time under /${pattern}/:`, top(insideByFunction, 20, 'function'));
  lines.push(
    `samples with a frame of /${pattern}/ on the stack: ${inside.toFixed(0)} ms, ${((100 * inside) / totalMs).toFixed(1)}%`,
  );
}
process.stdout.write(`${lines.join('\n')}\n`);
