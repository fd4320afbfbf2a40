/**
 * In-process handlers of client publishes (the embedded ingress is one), run where aedes
 * authorizes a publish, with the flow control that keeps a flooding client unread.
 */
import type { Client } from 'aedes';
import { asError } from '../runtime/as-error.js';
import type { Logger } from './log.js';
import { type PausableClient, PublishFlow, type PublishFlowLimits } from './publish-flow.js';

/**
 * Runs for every PUBLISH a client may make, once the ACLs let it through. When it returns a
 * promise, the broker goes on with the publish (PUBACK, delivery) only once that settles, so a
 * QoS 1 publish is acknowledged only after its interceptor is done with it. While a client's
 * publishes are being handled, aedes reads nothing more from it; beyond the flow limits
 * (`maxInterceptedPerClient`, `maxIntercepted`, `maxInterceptedBytes`) other clients are not read
 * either. Should not reject or throw; if it does, that is logged and the publish goes on.
 */
export type PublishInterceptor = (topic: string, payload: Buffer) => Promise<void> | undefined;

export class Interceptors {
  readonly #all = new Set<PublishInterceptor>();
  readonly #flow: PublishFlow;
  readonly #logger: Logger;

  constructor(limits: PublishFlowLimits, logger: Logger) {
    this.#flow = new PublishFlow(limits);
    this.#logger = logger;
  }

  /** Adds `interceptor`; returns the function that removes it. */
  add(interceptor: PublishInterceptor): () => void {
    this.#all.add(interceptor);
    return () => this.#all.delete(interceptor);
  }

  /**
   * Hands a publish `client` may make to every interceptor; calls `done` once they are all done
   * with it (at once if none returned a promise).
   */
  run(client: Client, topic: string, payload: string | Buffer, done: () => void): void {
    if (this.#all.size === 0) {
      done();
      return;
    }
    const bytes = typeof payload === 'string' ? Buffer.from(payload) : payload;
    const pending: Promise<void>[] = [];
    for (const interceptor of this.#all) {
      try {
        const result = interceptor(topic, bytes);
        if (result !== undefined) pending.push(result.catch((error) => this.#failed(error)));
      } catch (error) {
        this.#failed(error);
      }
    }
    if (pending.length === 0) {
      done();
      return;
    }
    // `done` before the flow settles: aedes counts the packet as handled before a paused
    // client is read again.
    const handled = Promise.all(pending).then(done);
    this.#flow.track(client as unknown as PausableClient, handled, bytes.length);
  }

  #failed(error: unknown): void {
    this.#logger.error(`publish interceptor: ${asError(error).message}`);
  }
}
