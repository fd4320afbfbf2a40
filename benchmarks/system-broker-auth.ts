/**
 * The embedded broker as deployed (authentication, per-client ACLs, limits) against raw aedes
 * (the same library, a plain `aedes.handle` on a TCP server with Nagle off as the embedded
 * broker's, nothing checked), on the first hop
 * of every request: UEs publishing tensor-sized QoS 1 messages on their own `infer` topics to
 * one subscriber, as the ingress reads them. Alternating, in the same run.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { Aedes } from 'aedes';
import { createBroker, silentLogger } from '../broker/index.js';
import { ueTopic } from '../proto/index.js';
import { defined } from '../runtime/defined.js';
import { deriveUeKey } from '../runtime/ue-key.js';
import { medianOrNaN as median } from '../stats/quantile.js';
import { type CeilingPlan, measureBrokerCeiling } from './system-broker-ceiling.js';
import { ueIdsFor } from './system-requests.js';

export interface BrokerAuthResult {
  readonly bytes: number;
  /** Messages per second, per pair of runs. */
  readonly rawAedes: readonly number[];
  readonly embedded: readonly number[];
  /** Embedded over raw aedes, median of the pairs (target: at least 0.9). */
  readonly ratio: number;
}

async function listen(server: ReturnType<typeof createServer>): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

async function rawAedesRun(prefix: string, plan: CeilingPlan): Promise<number> {
  const aedes = await Aedes.createBroker();
  // Nagle off, as the embedded broker's listener has it: a transport setting, not a check.
  const server = createServer({ noDelay: true }, (socket) => aedes.handle(socket));
  const port = await listen(server);
  try {
    const ues = ueIdsFor(plan.ues);
    return await measureBrokerCeiling(`mqtt://127.0.0.1:${port}`, prefix, plan, {
      topicOf: (i) => ueTopic(prefix, defined(ues[i], 'the UE id of a publisher'), 'infer'),
      filter: `${prefix}/ue/+/infer`,
    });
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
  }
}

async function embeddedRun(prefix: string, plan: CeilingPlan): Promise<number> {
  const fleetKey = randomBytes(24).toString('hex');
  const token = randomBytes(16).toString('hex');
  const broker = await createBroker({
    port: 0,
    host: '127.0.0.1',
    topicPrefix: prefix,
    logger: silentLogger,
    auth: { ueFleetKey: fleetKey, tokens: [{ username: 'bench-ingress', role: 'ingress', token }] },
  });
  try {
    const ues = ueIdsFor(plan.ues);
    return await measureBrokerCeiling(`mqtt://127.0.0.1:${broker.port}`, prefix, plan, {
      topicOf: (i) => ueTopic(prefix, defined(ues[i], 'the UE id of a publisher'), 'infer'),
      filter: `${prefix}/ue/+/infer`,
      publisherLogin: (i) => {
        const ue = defined(ues[i], 'the UE id of a publisher');
        return { username: ue, password: deriveUeKey(fleetKey, ue) };
      },
      subscriberLogin: { username: 'bench-ingress', password: token },
    });
  } finally {
    await broker.close();
  }
}

export async function measureBrokerAuth(
  prefix: string,
  plan: CeilingPlan,
  pairs: number,
): Promise<BrokerAuthResult> {
  const rawAedes: number[] = [];
  const embedded: number[] = [];
  for (let k = 0; k < pairs; k++) {
    rawAedes.push(await rawAedesRun(`${prefix}-raw${k}`, plan));
    embedded.push(await embeddedRun(`${prefix}-auth${k}`, plan));
  }
  const ratios = embedded.map(
    (value, k) => value / defined(rawAedes[k], 'the raw aedes run paired with an embedded run'),
  );
  return { bytes: plan.bytes, rawAedes, embedded, ratio: median(ratios) };
}
