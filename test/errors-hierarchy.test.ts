/**
 * One error hierarchy: every exported error class of the source folders extends EdgesplitError,
 * carries a code of the one table (ErrorCodes) and takes a `cause`; an error report on the wire
 * only ever carries a wire code.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  EdgesplitError,
  type ErrorCode,
  ErrorCodes,
  errorReportSchema,
  isRetryableError,
  isWireError,
  OptionError,
  RETRYABLE_ERROR_CODES,
  TopicError,
  ValidationError,
  WIRE_ERROR_CODES,
} from '../proto/index.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const SOURCE_FOLDERS = [
  'agents',
  'broker',
  'cli',
  'dashboard',
  'dnn',
  'edge-worker',
  'experiments',
  'metrics',
  'proto',
  'runtime',
  'scheduler',
  'stats',
  'system',
];

function sourceFiles(folder: string): string[] {
  return readdirSync(join(root, folder), { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.ts') && !name.startsWith('page'))
    .map((name) => join(root, folder, name));
}

/** Files that export a class, by path from the repository root. */
const classFiles = SOURCE_FOLDERS.flatMap(sourceFiles).filter((file) =>
  /^export (abstract )?class \w+(<.*>)? extends /m.test(readFileSync(file, 'utf8')),
);

type ErrorClass = abstract new (...args: never[]) => Error;

async function exportedErrorClasses(): Promise<Map<string, ErrorClass>> {
  const found = new Map<string, ErrorClass>();
  for (const file of classFiles) {
    const module = (await import(file)) as Record<string, unknown>;
    for (const [name, value] of Object.entries(module)) {
      if (typeof value !== 'function') continue;
      const prototype: unknown = value.prototype;
      if (prototype instanceof Error)
        found.set(`${relative(root, file)}:${name}`, value as ErrorClass);
    }
  }
  return found;
}

const cause = new Error('the cause');

/**
 * One instance of each error class, made with `cause`; a new error class fails the test above
 * until it is added here.
 */
async function examples(): Promise<Map<string, () => Error>> {
  const agents = await import('../agents/errors.js');
  const claimFiles = await import('../runtime/claim-files.js');
  const defined = await import('../runtime/defined.js');
  const aedes = await import('../broker/aedes-internals.js');
  const broker = await import('../broker/errors.js');
  const hashGate = await import('../broker/hash-gate.js');
  const lab = await import('../cli/lab/netns.js');
  const dnn = await import('../dnn/errors.js');
  const executor = await import('../dnn/executor.js');
  const layerCost = await import('../dnn/layer-cost.js');
  const onnx = await import('../dnn/onnx/errors.js');
  const profileFile = await import('../dnn/profile-file.js');
  const scenario = await import('../dnn/scenario.js');
  const edge = await import('../edge-worker/errors.js');
  const log = await import('../runtime/log.js');
  const scheduler = await import('../scheduler/service/errors.js');
  const privateRedis = await import('../system/private-redis.js');
  const requestStore = await import('../broker/request-store.js');
  const options = { cause };
  const list: [string, () => Error][] = [
    ['EdgesplitError', () => new EdgesplitError('INVALID_PAYLOAD', 'bad', options)],
    ['ValidationError', () => new ValidationError('INVALID_PAYLOAD', ['infer.x: bad'], options)],
    ['TopicError', () => new TopicError('x/y', 'not ours', options)],
    ['OptionError', () => new OptionError('--x: bad', { cause, option: 'x' })],
    ['LogOptionError', () => new log.LogOptionError('--log-level: bad', options)],
    [
      'SchedulerOptionsError',
      () => new scheduler.SchedulerOptionsError('coalesceMs', 'bad', options),
    ],
    [
      'SchedulerTransportError',
      () => new scheduler.SchedulerTransportError('publish', 'failed', options),
    ],
    ['OnnxImportError', () => new onnx.OnnxImportError('m.onnx', 'graph', 'bad', options)],
    ['LayerShapeError', () => new layerCost.LayerShapeError('bad', options)],
    ['SegmentError', () => new executor.SegmentError('bad', options)],
    ['ScenarioError', () => new scenario.ScenarioError('bad', options)],
    ['ProfileFileError', () => new profileFile.ProfileFileError('bad', options)],
    ['ModelShapeError', () => new dnn.ModelShapeError('m', 'b', 'bad', options)],
    ['UnknownModelError', () => new dnn.UnknownModelError('m', ['n'], options)],
    ['FleetOptionsError', () => new dnn.FleetOptionsError('ues', 'bad', options)],
    ['LabUnavailableError', () => new lab.LabUnavailableError('no', options)],
    ['AedesInternalsError', () => new aedes.AedesInternalsError('9.9.9', ['pause'], options)],
    ['HashGateFullError', () => new hashGate.HashGateFullError(4, options)],
    ['CredentialsError', () => new broker.CredentialsError('bad', options)],
    ['BrokerListenError', () => new broker.BrokerListenError('mqtt', '::', 1, cause)],
    ['AgentOptionsError', () => new agents.AgentOptionsError('batch', 'bad', options)],
    ['NoDecisionError', () => new agents.NoDecisionError('u1', 10, options)],
    ['AgentStoppedError', () => new agents.AgentStoppedError('u1', options)],
    ['TraceError', () => new agents.TraceError('bad', 3, options)],
    ['EdgeWorkerOptionsError', () => new edge.EdgeWorkerOptionsError('bad', options)],
    [
      'TailJobError',
      () => new edge.TailJobError('tensorMissing', 'TENSOR_MISSING', 'gone', options),
    ],
    ['NoRedisServerError', () => new privateRedis.NoRedisServerError(options)],
    ['ClaimDirError', () => new claimFiles.ClaimDirError('claim directory x: bad', options)],
    ['MissingValueError', () => new defined.MissingValueError('the value', options)],
    [
      'Refusal',
      () => new requestStore.Refusal('QUEUE_FULL', 'UE "u1" has 64 requests waiting', options),
    ],
  ];
  return new Map(list);
}

describe('the error hierarchy', () => {
  it('finds the error classes of every folder', async () => {
    const classes = await exportedErrorClasses();
    expect(classes.size).toBeGreaterThanOrEqual(27);
  });

  it('every exported error class extends EdgesplitError and has a code of the table', async () => {
    const classes = await exportedErrorClasses();
    const instances = await examples();
    for (const [where, errorClass] of classes) {
      const name = where.slice(where.indexOf(':') + 1);
      expect(
        errorClass === EdgesplitError || errorClass.prototype instanceof EdgesplitError,
        where,
      ).toBe(true);
      const make = instances.get(name);
      expect(make, `${where}: add an example to this test`).toBeDefined();
      const error = make?.();
      expect(error, where).toBeInstanceOf(errorClass);
      expect(error, where).toBeInstanceOf(EdgesplitError);
      const code = (error as EdgesplitError).code;
      expect(Object.keys(ErrorCodes), where).toContain(code);
      expect(error?.name, where).toBe(name);
    }
  });

  it('every class takes a cause', async () => {
    const instances = await examples();
    for (const [name, make] of instances) expect(make().cause, name).toBe(cause);
  });

  it('wire codes are the codes an error report may carry; the others never go on the wire', () => {
    const wire = Object.entries(ErrorCodes)
      .filter(([, entry]) => entry.wire)
      .map(([code]) => code);
    expect(WIRE_ERROR_CODES).toEqual(wire);
    for (const code of Object.keys(ErrorCodes) as ErrorCode[]) {
      const report = { code, message: 'm', issues: [] };
      expect(errorReportSchema.safeParse(report).success, code).toBe(
        (WIRE_ERROR_CODES as readonly string[]).includes(code),
      );
    }
    expect(isWireError(new OptionError('--x: bad'))).toBe(false);
    expect(isWireError(new ValidationError('INVALID_PAYLOAD', ['x']))).toBe(true);
  });

  it('only wire codes are retryable, and the four that say "not now" are', () => {
    expect([...RETRYABLE_ERROR_CODES].sort()).toEqual(
      ['EPOCH_AHEAD', 'NO_UNITS', 'QUEUE_FULL', 'UNAVAILABLE'].sort(),
    );
    for (const code of RETRYABLE_ERROR_CODES) {
      expect(ErrorCodes[code].wire).toBe(true);
      expect(isRetryableError(code)).toBe(true);
    }
  });
});
