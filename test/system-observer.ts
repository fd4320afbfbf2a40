import { randomBytes } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import { unpack } from 'msgpackr';
import {
  allTopicsFilter,
  type Decision,
  decodeMessage,
  type EdgeStatus,
  type ErrorReport,
  messageKindOf,
  type SchedulerStatus,
  tryParseTopic,
} from '../proto/index.js';
import { connectMqtt } from '../runtime/mqtt-connect.js';
import { contractValidator } from './contract.js';

/** Kinds the system's own services send (UE kinds may come from tests' deliberately bad clients). */
const SERVICE_KINDS: ReadonlySet<string> = new Set([
  'decision',
  'result',
  'error',
  'edgeStatus',
  'schedulerStatus',
]);
const contract = contractValidator();

/** Watches every topic of a prefix: decisions, edge and scheduler status, errors. */
export class SystemObserver {
  readonly decisions = new Map<string, Decision>();
  readonly decisionLog: Array<{ ue: string; decision: Decision; at: number }> = [];
  readonly edge = new Map<string, EdgeStatus>();
  readonly errors: Array<{ ue: string; report: ErrorReport }> = [];
  scheduler: SchedulerStatus | undefined;
  /** Messages of the system's services that do not conform to docs/asyncapi.yaml. */
  readonly contractViolations: string[] = [];
  /**
   * Set to record every request id seen on `infer` and answered on `result` or `error`, by UE
   * (off by default: it decodes every request).
   */
  trackRequests = false;
  readonly requested = new Map<string, Set<string>>();
  readonly answered = new Map<string, Set<string>>();

  private constructor(
    private readonly client: MqttClient,
    private readonly prefix: string,
  ) {}

  static async open(mqttUrl: string, prefix: string): Promise<SystemObserver> {
    let observer: SystemObserver | undefined;
    const client = await connectMqtt(
      { url: mqttUrl, clientId: `observer-${randomBytes(4).toString('hex')}`, clean: true },
      (c) => c.on('message', (topic, payload) => observer?.receive(topic, payload)),
    );
    observer = new SystemObserver(client, prefix);
    await client.subscribeAsync(allTopicsFilter(prefix), { qos: 1 });
    return observer;
  }

  private receive(topic: string, payload: Buffer): void {
    const parsed = tryParseTopic(this.prefix, topic);
    if (!parsed.ok || payload.length === 0) return;
    const kind = messageKindOf(parsed.value);
    if (SERVICE_KINDS.has(kind))
      for (const problem of contract.problemsOfBytes(kind, payload))
        this.contractViolations.push(`${topic}: ${problem}`);
    if (this.trackRequests && parsed.value.kind === 'ue') {
      const book =
        kind === 'infer'
          ? this.requested
          : kind === 'result' || kind === 'error'
            ? this.answered
            : undefined;
      const requestId = book === undefined ? undefined : requestIdIn(payload);
      if (book !== undefined && requestId !== undefined) {
        const ids = book.get(parsed.value.ue) ?? new Set<string>();
        ids.add(requestId);
        book.set(parsed.value.ue, ids);
      }
    }
    if (
      kind !== 'decision' &&
      kind !== 'edgeStatus' &&
      kind !== 'schedulerStatus' &&
      kind !== 'error'
    )
      return;
    const decoded = decodeMessage(kind, payload);
    if (!decoded.ok) return;
    const where = parsed.value;
    if (where.kind === 'ue' && kind === 'decision') {
      const decision = decoded.value as Decision;
      this.decisions.set(where.ue, decision);
      this.decisionLog.push({ ue: where.ue, decision, at: Date.now() });
    } else if (where.kind === 'ue' && kind === 'error') {
      this.errors.push({ ue: where.ue, report: decoded.value as ErrorReport });
    } else if (where.kind === 'edge') {
      this.edge.set(where.worker, decoded.value as EdgeStatus);
    } else if (where.kind === 'scheduler') {
      this.scheduler = decoded.value as SchedulerStatus;
    }
  }

  /** Request ids seen on `infer` with no result or error seen yet, by UE (`trackRequests`). */
  unanswered(): Map<string, string[]> {
    const open = new Map<string, string[]>();
    for (const [ue, ids] of this.requested) {
      const answered = this.answered.get(ue);
      const missing = [...ids].filter((id) => !answered?.has(id));
      if (missing.length > 0) open.set(ue, missing);
    }
    return open;
  }

  /** Sum of the units of online edge workers, as the observer sees them. */
  onlineUnits(): number {
    let units = 0;
    for (const status of this.edge.values()) if (status.state === 'online') units += status.units;
    return units;
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}

/** The `requestId` of an encoded request, result or error report, if it has one. */
function requestIdIn(payload: Buffer): string | undefined {
  try {
    const requestId = (unpack(payload) as { requestId?: unknown } | null)?.requestId;
    return typeof requestId === 'string' ? requestId : undefined;
  } catch {
    return undefined;
  }
}
