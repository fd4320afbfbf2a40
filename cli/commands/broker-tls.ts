/** `edgesplit broker`'s TLS material: the PEM files of its flags or environment, read. */
import { readFile } from 'node:fs/promises';
import type { TlsMaterial } from '../../broker/index.js';
import { OptionError } from '../../proto/index.js';
import { asError } from '../../runtime/as-error.js';
import { BROKER_ENV, fromEnv } from './broker-env.js';

async function readPem(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    throw new OptionError(`cannot read the TLS ${what} ${path}: ${asError(error).message}`, {
      cause: error,
    });
  }
}

/**
 * The TLS key and certificate of `--tls-key`/`--tls-cert` (else MQTT_TLS_KEY/MQTT_TLS_CERT),
 * read; undefined for none. Both or neither.
 */
export async function tlsFromFlags(flags: {
  readonly tlsKey?: string;
  readonly tlsCert?: string;
}): Promise<TlsMaterial | undefined> {
  const tlsKey = fromEnv(flags.tlsKey, BROKER_ENV.tlsKey, String);
  const tlsCert = fromEnv(flags.tlsCert, BROKER_ENV.tlsCert, String);
  if ((tlsKey === undefined) !== (tlsCert === undefined))
    throw new OptionError('--tls-key and --tls-cert go together');
  if (tlsKey === undefined || tlsCert === undefined) return undefined;
  return { key: await readPem(tlsKey, 'key'), cert: await readPem(tlsCert, 'certificate') };
}
