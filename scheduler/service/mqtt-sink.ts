import type { IClientPublishOptions, MqttClient } from 'mqtt';
import {
  type Decision,
  type ErrorReport,
  encodeMessage,
  MESSAGE_QOS,
  PROTOCOL_VERSION,
  type SchedulerStatus,
  schedulerStatusTopic,
  ueTopic,
} from '../../proto/index.js';
import { SchedulerTransportError } from './errors.js';
import type { DecisionSink } from './ports.js';

const RETAINED: IClientPublishOptions = { qos: MESSAGE_QOS, retain: true };
const NOT_RETAINED: IClientPublishOptions = { qos: MESSAGE_QOS, retain: false };
const EMPTY = Buffer.alloc(0);

/** The scheduler's output over MQTT: decisions and status retained, QoS 1 everywhere. */
export class MqttDecisionSink implements DecisionSink {
  private readonly decisionTopics = new Map<string, string>();
  private readonly statusTopic: string;
  private readonly done: (error?: Error) => void;

  constructor(
    private readonly client: MqttClient,
    private readonly prefix: string,
    onError: (error: Error) => void,
  ) {
    this.statusTopic = schedulerStatusTopic(prefix);
    this.done = (error) => {
      if (error) onError(new SchedulerTransportError('publish', error.message, { cause: error }));
    };
  }

  publishDecision(ue: string, decision: Decision): void {
    const versioned = { ...decision, protocol: PROTOCOL_VERSION };
    this.publish(this.decisionTopic(ue), encodeMessage(versioned), RETAINED);
  }

  clearDecision(ue: string): void {
    this.publish(this.decisionTopic(ue), EMPTY, RETAINED);
  }

  publishError(ue: string, report: ErrorReport): void {
    // Not state: queued by the client while disconnected, as any report.
    const topic = ueTopic(this.prefix, ue, 'error');
    this.client.publish(topic, encodeMessage(report), NOT_RETAINED, this.done);
  }

  publishStatus(status: SchedulerStatus): void {
    this.publish(this.statusTopic, encodeMessage(status), RETAINED);
  }

  /**
   * Sends retained state now or never: while disconnected the client would queue it and send it
   * on reconnecting, possibly long after this scheduler lost the leadership. The scheduler
   * publishes every decision and its status again once reconnected (scheduler-service.ts),
   * fenced as any solve.
   */
  private publish(topic: string, payload: Buffer, options: IClientPublishOptions): void {
    if (!this.client.connected) return;
    this.client.publish(topic, payload, options, this.done);
  }

  private decisionTopic(ue: string): string {
    let topic = this.decisionTopics.get(ue);
    if (topic === undefined) {
      topic = ueTopic(this.prefix, ue, 'decision');
      this.decisionTopics.set(ue, topic);
    }
    return topic;
  }
}
