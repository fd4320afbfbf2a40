/** Errors the broker and ingress raise on purpose; each names what to fix. */
import { EdgesplitError, type ErrorOptions } from '../proto/index.js';
import { asError } from '../runtime/as-error.js';

/** A credentials file, token list or password hash that cannot be used. */
export class CredentialsError extends EdgesplitError<'INVALID_CREDENTIALS'> {
  constructor(message: string, options?: ErrorOptions) {
    super('INVALID_CREDENTIALS', message, options);
    this.name = 'CredentialsError';
  }
}

/** A listener that could not be opened (port taken, no permission, bad address). */
export class BrokerListenError extends EdgesplitError<'LISTEN_FAILED'> {
  readonly port: number;
  readonly host: string;
  constructor(what: string, host: string, port: number, cause: unknown) {
    const code = (cause as NodeJS.ErrnoException | undefined)?.code;
    const reason =
      code === 'EADDRINUSE'
        ? `port ${port} is already in use on ${host}`
        : code === 'EACCES'
          ? `no permission to listen on port ${port} on ${host}`
          : code === 'EADDRNOTAVAIL'
            ? `address ${host} is not available on this machine (port ${port})`
            : `cannot listen on ${host}:${port}: ${asError(cause).message}`;
    super('LISTEN_FAILED', `${what}: ${reason}`, { cause });
    this.name = 'BrokerListenError';
    this.port = port;
    this.host = host;
  }
}
