import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import {
  DEFAULT_IMPORT_LIMITS,
  exportModel,
  hasModel,
  type ImportLimitName,
  importModel,
  listModels,
  loadZooModel,
  OnnxImportError,
  type OnnxModel,
} from '../../dnn/index.js';
import { asError } from '../../runtime/as-error.js';
import { defined } from '../../runtime/defined.js';
import { renderTable } from '../../runtime/table.js';
import { EXIT_USAGE, exitOnUsageError, parseInteger, parsePositive } from '../options.js';

interface ImportFlags {
  readonly json: boolean;
  readonly maxTensorMib: number;
  readonly maxModelMib: number;
  readonly out?: string;
  readonly split?: readonly string[];
  readonly segmentsDir: string;
}

const parseList = (value: string): string[] => value.split(',').map((part) => part.trim());

function parseZooModel(value: string): string {
  if (!hasModel(value))
    throw new InvalidArgumentError(
      `unknown model ${JSON.stringify(value.slice(0, 64))} (known: ${listModels().join(', ')})`,
    );
  return value;
}

function describe(model: OnnxModel, source: string) {
  return {
    model: model.name,
    source,
    store: model.dir,
    cuts: model.cuts.map(({ name, tensor, shape, bytes }) => ({ name, tensor, shape, bytes })),
  };
}

function cutTable(model: OnnxModel): string {
  const rows = model.cuts.map((cut, index) => [
    String(index),
    cut.name,
    `[${cut.shape.join(', ')}]`,
    String(cut.bytes),
  ]);
  return renderTable(['#', 'cut', 'shape', 'bytes'], rows);
}

/** Inner cut positions named by `wanted` (cut names or indices); a message for unknown ones. */
function resolveCuts(model: OnnxModel, wanted: readonly string[]): number[] | string {
  const last = model.cuts.length - 1;
  const positions: number[] = [];
  for (const key of wanted) {
    const byName = model.cuts.findIndex((cut) => cut.name === key);
    const position = byName >= 0 ? byName : /^\d+$/.test(key) ? Number(key) : -1;
    if (!(position > 0 && position < last))
      return `--split: "${key}" is not a cut between input and output (cuts 1..${last - 1})`;
    positions.push(position);
  }
  return positions;
}

/** The flag that raises each import limit, in MiB. */
const LIMIT_FLAGS: Record<ImportLimitName, string> = {
  tensorBytes: '--max-tensor-mib',
  modelBytes: '--max-model-mib',
};

const MIB = 1024 * 1024;

function fail(command: string, message: string, code = EXIT_USAGE): void {
  process.stderr.write(`edgesplit model ${command}: ${message}\n`);
  process.exitCode = code;
}

async function runImport(file: string, flags: ImportFlags): Promise<void> {
  let model: OnnxModel;
  try {
    model = await importModel(file, {
      limits: {
        tensorBytes: Math.floor(flags.maxTensorMib * MIB),
        modelBytes: Math.floor(flags.maxModelMib * MIB),
      },
    });
  } catch (error) {
    if (!(error instanceof OnnxImportError)) throw error;
    const hint = error.limit === undefined ? '' : ` (raise it with ${LIMIT_FLAGS[error.limit]})`;
    fail('import', `${error.message}${hint}`);
    return;
  }
  const positions = resolveCuts(model, flags.split ?? []);
  if (typeof positions === 'string') {
    fail('import', positions);
    return;
  }
  const summary = describe(model, file);
  const text = `${JSON.stringify(summary, null, 2)}\n`;
  if (flags.json) process.stdout.write(text);
  else {
    process.stdout.write(`${model.name}: ${model.cuts.length} cuts (store: ${model.dir})\n`);
    process.stdout.write(`${cutTable(model)}\n`);
  }
  const last = model.cuts.length - 1;
  try {
    if (flags.out !== undefined) await writeFile(flags.out, text);
    for (const p of positions) {
      const { name } = defined(model.cuts[p], `cut ${p} of model "${model.name}"`);
      const cut = name.replace(/[^A-Za-z0-9._-]/g, '-');
      const head = join(flags.segmentsDir, `${model.name}.${cut}.head.onnx`);
      const tail = join(flags.segmentsDir, `${model.name}.${cut}.tail.onnx`);
      await exportModel(model, head, { from: 0, to: p });
      await exportModel(model, tail, { from: p, to: last });
      process.stderr.write(`wrote ${head} and ${tail}\n`);
    }
  } catch (error) {
    fail('import', `cannot write: ${asError(error).message}`, 1);
  }
}

/** `edgesplit model ...`: ONNX models to split, from the zoo or from a file. */
export function registerModelCommands(program: Command): void {
  const model = program.command('model').description('ONNX models: import, export, cut lists');
  // Set before adding subcommands: commander copies the exit handler into them on creation.
  model.exitOverride(exitOnUsageError);

  model
    .command('import')
    .description(
      'read an ONNX file, find its cuts (where one activation tensor is alive), keep it in the model store (EDGESPLIT_MODEL_DIR)',
    )
    .argument('<file>', 'ONNX model with one float32 input (only the batch dimension dynamic)')
    .option('--json', 'print the cut list as JSON', false)
    .option('--out <file>', 'also write the cut list (JSON) to FILE')
    .option(
      '--split <cuts>',
      'write head and tail ONNX files at these cuts (names or indices)',
      parseList,
    )
    .option('--segments-dir <dir>', 'folder for the --split files', '.')
    .option(
      `${LIMIT_FLAGS.tensorBytes} <n>`,
      'refuse an input, output or declared tensor larger than N MiB',
      parsePositive,
      DEFAULT_IMPORT_LIMITS.tensorBytes / MIB,
    )
    .option(
      `${LIMIT_FLAGS.modelBytes} <n>`,
      "refuse a model whose file and initializers' declared sizes add up to more than N MiB",
      parsePositive,
      DEFAULT_IMPORT_LIMITS.modelBytes / MIB,
    )
    .action(runImport);

  model
    .command('export')
    .description('write a zoo model with its seeded weights as one self-contained ONNX file')
    .argument('<name>', `zoo model (${listModels().join(', ')})`, parseZooModel)
    .argument('<file>', 'ONNX file to write')
    .option('--seed <s>', 'seed of the generated weights', parseInteger, 1)
    .action(async (name: string, file: string, flags: { seed: number }) => {
      const zoo = await loadZooModel(name, { seed: flags.seed });
      try {
        await exportModel(zoo, file);
      } catch (error) {
        fail('export', `cannot write ${file}: ${asError(error).message}`, 1);
        return;
      }
      process.stderr.write(`wrote ${name} (${zoo.cuts.length} cuts) to ${file}\n`);
    });
}
