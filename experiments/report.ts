import { writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { basename } from 'node:path';
import { gitCommit } from './context.js';

export interface ReportInput {
  readonly title: string;
  readonly command: string;
  /** Markdown paragraphs, tables and lists, in order. */
  readonly sections: readonly string[];
  /** Files the experiment wrote (named relative to the report). */
  readonly files: readonly string[];
  readonly startedAt: Date;
  readonly durationS: number;
}

/** A markdown table. */
export function markdownTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** Writes `report.md`: the command, the commit, the machine, then the experiment's sections. */
export async function writeReport(file: string, input: ReportInput): Promise<string> {
  const images = input.files.filter((f) => f.endsWith('.png'));
  const text = [
    `# ${input.title}`,
    '',
    `- command: \`${input.command}\``,
    `- commit: \`${gitCommit()}\``,
    `- started: ${input.startedAt.toISOString()}, took ${input.durationS.toFixed(1)} s`,
    `- machine: ${machine()}`,
    '',
    ...input.sections.flatMap((s) => [s, '']),
    ...images.map((f) => `![${basename(f, '.png')}](${basename(f)})\n`),
    'Files:',
    '',
    ...input.files.map((f) => `- \`${basename(f)}\``),
    '',
  ].join('\n');
  await writeFile(file, text);
  return file;
}

function machine(): string {
  const cores = cpus();
  const load = loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
  return `${cores.length} x ${cores[0]?.model ?? 'cpu'}, Node ${process.version}, load average ${load}`;
}
