/**
 * In-process handlers of client publishes (the embedded ingress is one), run where aedes
 * authorizes a publish, with the flow control that keeps a flooding client unread.
 */
import type { Client } from 'aedes';
import { asError } from '../proto/index.js';
import type { Logger } from './log.js';
import { type PausableClient, PublishFlow, type PublishFlowLimits } from './publish-flow.js';

/**
 * Runs for every PUBLISH a client may make, once the ACLs let it through; the broker goes on
 * with it (PUBACK, delivery) without waiting. While too many of a client's publishes are being
 * handled, the broker reads nothing more from that client (`maxInterceptedPerClient`,
 * `maxIntercepted`, `maxInterceptedBytes`). Should not reject or throw; if it does, that is logged.
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

  /** Hands a publish `client` may make to every interceptor; returns at once. */
  run(client: Client, topic: string, payload: string | Buffer): void {
    if (this.#all.size === 0) return;
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
    if (pending.length > 0)
      this.#flow.track(client as unknown as PausableClient, Promise.all(pending), bytes.length);
  }

  #failed(error: unknown): void {
    this.#logger.error(`publish interceptor: ${asError(error).message}`);
  }
}
