import { closeSync, constants, fstatSync, openSync, realpathSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { asError } from '../../runtime/as-error.js';
import { OnnxImportError } from './errors.js';
import { declaredBytes, exactElementSize, formatBytes, tensorDims } from './import-limits.js';
import type { onnx } from './schema.js';

/** Where an external tensor's bytes are: an open regular file, and the range it declares. */
export interface ExternalRange {
  readonly fd: number;
  readonly offset: number;
  readonly length: number;
}

const entry = (tensor: onnx.ITensorProto, key: string): string | undefined =>
  tensor.externalData?.find((e) => e.key === key)?.value ?? undefined;

const reasonOf = (error: unknown) => asError(error).message;

/** The folder a model file sits in, symbolic links resolved: its external data must stay in it. */
export function modelFolder(file: string): string {
  try {
    return realpathSync(dirname(resolve(file)));
  } catch (error) {
    throw new OnnxImportError(file, 'unreadable', `cannot read its folder (${reasonOf(error)})`, {
      cause: error,
    });
  }
}

const isInside = (folder: string, path: string): boolean => {
  const rel = relative(folder, path);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
};

/**
 * The real path of the file an external tensor points to. Refuses a location that is absolute,
 * leaves `folder` through `..`, or resolves (through symbolic links) to a file outside it.
 */
export function externalFile(file: string, folder: string, tensor: onnx.ITensorProto): string {
  const location = entry(tensor, 'location') ?? '';
  const outside = (how: string) =>
    new OnnxImportError(
      file,
      'graph',
      `initializer "${tensor.name}" points outside the model's folder ("${location}"${how})`,
    );
  if (location === '' || isAbsolute(location) || !isInside(folder, resolve(folder, location)))
    throw outside('');
  let real: string;
  try {
    real = realpathSync(resolve(folder, location));
  } catch (error) {
    throw new OnnxImportError(
      file,
      'unreadable',
      `cannot read the external data of "${tensor.name}" (${reasonOf(error)})`,
      { cause: error },
    );
  }
  if (!isInside(folder, real)) throw outside(` resolves to ${real}`);
  return real;
}

const decimal = (value: string | undefined): number | undefined =>
  value === undefined ? undefined : /^\d{1,15}$/.test(value) ? Number(value) : Number.NaN;

/**
 * Opens the external data of `tensor` (see {@link externalFile}) and checks that its range lies
 * within a regular file and holds exactly the bytes its dims declare. The caller closes `fd`.
 */
export function openExternal(
  file: string,
  folder: string,
  tensor: onnx.ITensorProto,
): ExternalRange {
  const path = externalFile(file, folder, tensor);
  const fail = (reason: string, problem: 'graph' | 'unreadable' = 'graph', cause?: unknown) =>
    new OnnxImportError(
      file,
      problem,
      `external data of "${tensor.name}": ${reason}`,
      cause === undefined ? undefined : { cause },
    );
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (error) {
    throw fail(`cannot open it (${reasonOf(error)})`, 'unreadable', error);
  }
  try {
    const info = fstatSync(fd);
    if (!info.isFile()) throw fail(`${path} is not a regular file`);
    const offset = decimal(entry(tensor, 'offset')) ?? 0;
    const declaredLength = decimal(entry(tensor, 'length'));
    if (Number.isNaN(offset) || Number.isNaN(declaredLength))
      throw fail('offset and length must be non-negative integers');
    const length = declaredLength ?? info.size - offset;
    if (length < 0 || offset + length > info.size)
      throw fail(
        `${formatBytes(length)} at offset ${offset} run past the end of ${path} (${formatBytes(info.size)})`,
      );
    const dims = tensorDims(tensor);
    if (typeof dims === 'string') throw fail(dims);
    const dataType = tensor.dataType ?? 0;
    const expected = declaredBytes(dims, dataType);
    if (exactElementSize(dataType) && length !== expected)
      throw fail(`${formatBytes(length)} where its dims [${dims.join(', ')}] need ${expected}`);
    return { fd, offset, length };
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}
