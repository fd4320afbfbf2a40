import { Socket } from 'node:net';
import type { MqttClient } from 'mqtt';
import {
  type Decision,
  decodeMessage,
  type ErrorReport,
  encodeMessage,
  type InferRequest,
  type InferResult,
  type LinkEstimate,
  MESSAGE_QOS,
  type Message,
  PROTOCOL_VERSION,
  type Profile,
  STATUS_REFRESH_MS,
  type UeChannel,
  type UeStats,
  ueProbeTopic,
  ueTopic,
  type ValidationError,
} from '../proto/index.js';
import { asError } from '../runtime/as-error.js';
import { connectMqtt } from '../runtime/mqtt-connect.js';
import { PACKAGE_VERSION } from '../runtime/package-version.js';
import { withTimeout } from '../runtime/with-timeout.js';
import type { AgentConfig } from './agent-options.js';

/** Version string the agent reports in its status. */
export const AGENT_VERSION = PACKAGE_VERSION;

/** The agent's connection to the broker. */
export type ConnectionStatus =
  | { readonly type: 'online'; readonly sessionPresent: boolean }
  | { readonly type: 'reconnecting' }
  | { readonly type: 'offline' }
  | { readonly type: 'closed' };

/** What the session hands to the agent: decoded, validated messages and connection changes. */
export interface SessionHandlers {
  decision(decision: Decision): void;
  /** A result and its payload's size in bytes. */
  result(result: InferResult, bytes: number): void;
  error(report: ErrorReport): void;
  /** A payload on one of the agent's topics that failed validation; it changes nothing. */
  invalid(error: ValidationError, topic: string): void;
  /** A publish the client could not hand to the broker (retries cover requests). */
  publishFailed(error: Error, topic: string): void;
  status(status: ConnectionStatus): void;
}

/** What the agent announces on every (re)connect. */
export interface Announcement {
  readonly profile: Profile;
  /** None yet: a measuring agent publishes its first estimate after its first probe. */
  readonly link: LinkEstimate | undefined;
}

const CLOSE_TIMEOUT_MS = 2000;

/**
 * The MQTT side of an agent: a persistent session (`clean: false`, stable client id) whose
 * last will is a retained `offline` status; on every connect it subscribes to the UE's
 * decision, result and error topics and re-publishes status, profile and link, since a
 * restarted broker may have lost both the session and the retained messages.
 */
export class AgentSession {
  /** Republishes the online status (docs/protocol.md, "status"), so any broker's scheduler sees the UE is there. */
  private refresh: NodeJS.Timeout | undefined;
  /**
   * `linkMode: 'measure'`: a connection of its own for the link messages, so that one never
   * waits behind an upload on the wire (docs/links-and-lab.md, "Publishing"). Undefined: the
   * link goes on the agent's connection.
   */
  private control: MqttClient | undefined;
  /** The link last published, sent again when the link connection reconnects. */
  private lastLink: LinkEstimate | undefined;

  private constructor(
    readonly client: MqttClient,
    private readonly config: AgentConfig,
    private readonly handlers: SessionHandlers,
    private readonly announcement: () => Announcement,
  ) {}

  static async open(
    config: AgentConfig,
    handlers: SessionHandlers,
    announcement: () => Announcement,
  ): Promise<AgentSession> {
    const offline = encodeMessage({
      state: 'offline',
      agentVersion: AGENT_VERSION,
      at: Date.now(),
      protocol: PROTOCOL_VERSION,
    });
    let session: AgentSession | undefined;
    // Handlers go on before the CONNECT: a persistent session's queued results may arrive
    // right behind the CONNACK.
    const setup = (client: MqttClient) => {
      const created = new AgentSession(client, config, handlers, announcement);
      session = created;
      client.on('message', (topic, payload) => created.receive(topic, payload));
      let reconnect = false;
      client.on('connect', (connack) => {
        // The first connection is announced by open() itself, which waits for it.
        if (!reconnect) {
          reconnect = true;
          return;
        }
        handlers.status({ type: 'online', sessionPresent: connack.sessionPresent });
        created.announce().catch((error: unknown) => {
          handlers.publishFailed(asError(error), created.topic('status'));
        });
      });
    };
    const client = await connectMqtt(
      {
        ...config.mqttOptions,
        url: config.mqttUrl,
        clientId: config.clientId,
        clean: false,
        protocolVersion: 4,
        resubscribe: false,
        ...(config.username === undefined ? {} : { username: config.username }),
        ...(config.password === undefined ? {} : { password: config.password }),
        will: {
          topic: ueTopic(config.topicPrefix, config.id, 'status'),
          payload: offline,
          qos: MESSAGE_QOS,
          retain: true,
        },
      },
      setup,
    );
    client.on('reconnect', () => handlers.status({ type: 'reconnecting' }));
    client.on('offline', () => handlers.status({ type: 'offline' }));
    if (session === undefined) throw new Error('connectMqtt did not run its setup');
    try {
      await session.announce();
    } catch (error) {
      await client.endAsync(true);
      throw error;
    }
    const opened = session;
    if (config.linkMode === 'measure') opened.control = await opened.openControl();
    opened.refresh = setInterval(() => {
      if (opened.client.connected) opened.publishOnline();
    }, STATUS_REFRESH_MS);
    opened.refresh.unref();
    return opened;
  }

  get connected(): boolean {
    return this.client.connected;
  }

  /** The connection's TCP socket, if it is one (the link meter reads its send queue). */
  get socket(): Socket | undefined {
    const stream: unknown = this.client.stream;
    return stream instanceof Socket ? stream : undefined;
  }

  /**
   * Publishes a request; returns its payload's size. `acked` runs on its PUBACK (with an
   * error if the client could not hand it over).
   */
  publishInfer(request: InferRequest, acked?: (error?: Error) => void): number {
    return this.publish('infer', request, false, acked);
  }

  /** Publishes `bytes` of probe payload on the UE's probe topic; resolves on the PUBACK. */
  publishProbe(bytes: number): Promise<void> {
    const topic = ueProbeTopic(this.config.topicPrefix, this.config.id);
    return new Promise((resolve, reject) => {
      this.client.publish(topic, Buffer.alloc(bytes), { qos: MESSAGE_QOS }, (error) => {
        if (error) reject(error);
        else resolve();
      });
    });
  }

  /**
   * Publishes the link, retained: on the link connection when it is up, so that it does not
   * queue behind the bytes of an upload on the agent's connection, else on that one.
   */
  publishLink(link: LinkEstimate): void {
    this.lastLink = link;
    const control = this.control;
    if (control?.connected !== true) {
      this.publish('link', link, true);
      return;
    }
    const topic = this.topic('link');
    control.publish(topic, encodeMessage(link), { qos: MESSAGE_QOS, retain: true }, (error) => {
      if (error) this.handlers.publishFailed(error, topic);
    });
  }

  /** Whether link messages go on a connection of their own (it is up). */
  get linkConnected(): boolean {
    return this.control?.connected === true;
  }

  /**
   * Opens the link connection: a clean session (`{clientId}-link`) with the agent's credentials
   * and no last will, which only publishes `ue/{id}/link`. A broker that refuses it costs
   * nothing but the wait: the link then goes on the agent's connection.
   */
  private async openControl(): Promise<MqttClient | undefined> {
    const { config } = this;
    try {
      const control = await connectMqtt({
        ...config.mqttOptions,
        url: config.mqttUrl,
        clientId: `${config.clientId}-link`,
        clean: true,
        protocolVersion: 4,
        ...(config.username === undefined ? {} : { username: config.username }),
        ...(config.password === undefined ? {} : { password: config.password }),
      });
      // A broker that restarted lost the retained link (unless the agent's connection, back
      // first, published it): the latest goes again.
      control.on('connect', () => {
        if (this.lastLink !== undefined) this.publishLink(this.lastLink);
      });
      control.on('error', () => {}); // reconnects; meanwhile the link goes on the other one
      return control;
    } catch (error) {
      const reason = asError(error).message;
      this.handlers.publishFailed(
        new Error(`no link connection (${reason}): link messages go on the agent's connection`),
        this.topic('link'),
      );
      return undefined;
    }
  }

  /** Publishes the UE's recent measurements (`ue/{ue}/stats`, not retained). */
  publishStats(stats: UeStats): void {
    this.publish('stats', stats, false);
  }

  /** Publishes a retained `offline` status (if connected) and disconnects. */
  async close(): Promise<void> {
    clearInterval(this.refresh);
    const control = this.control;
    this.control = undefined;
    if (control !== undefined)
      await withTimeout(control.endAsync(!control.connected), CLOSE_TIMEOUT_MS).catch(() => {
        control.stream.destroy();
      });
    const client = this.client;
    if (client.connected) {
      const payload = encodeMessage({
        state: 'offline',
        agentVersion: AGENT_VERSION,
        at: Date.now(),
      });
      const topic = this.topic('status');
      await withTimeout(
        client.publishAsync(topic, payload, { qos: MESSAGE_QOS, retain: true }),
        CLOSE_TIMEOUT_MS,
      ).catch(() => {});
    }
    if (!client.connected) await client.endAsync(true);
    else {
      // A graceful end waits for unacknowledged packets, which a dying broker never acks.
      await withTimeout(client.endAsync(false), CLOSE_TIMEOUT_MS).catch(() => {
        client.stream.destroy();
      });
    }
    this.handlers.status({ type: 'closed' });
  }

  topic(channel: UeChannel): string {
    return ueTopic(this.config.topicPrefix, this.config.id, channel);
  }

  private async announce(): Promise<void> {
    const topics = [this.topic('decision'), this.topic('result'), this.topic('error')];
    const granted = await this.client.subscribeAsync(topics, { qos: MESSAGE_QOS });
    // 0x80 in a SUBACK is a refused subscription [MQTT-3.9.3-2], e.g. by the broker's ACL.
    const refused = granted.filter((grant) => grant.qos === 0x80).map((grant) => grant.topic);
    if (refused.length > 0)
      throw new Error(`the broker refused the subscriptions ${refused.join(', ')}`);
    const { profile, link } = this.announcement();
    this.publishOnline();
    this.publish('profile', profile, true);
    if (link !== undefined) this.publishLink(link);
  }

  private publishOnline(): void {
    const online = { state: 'online' as const, agentVersion: AGENT_VERSION, at: Date.now() };
    this.publish('status', { ...online, protocol: PROTOCOL_VERSION }, true);
  }

  private publish(
    channel: UeChannel,
    message: Message,
    retain: boolean,
    acked?: (error?: Error) => void,
  ): number {
    const topic = this.topic(channel);
    const payload = encodeMessage(message);
    this.client.publish(topic, payload, { qos: MESSAGE_QOS, retain }, (error) => {
      if (error) this.handlers.publishFailed(error, topic);
      acked?.(error ?? undefined);
    });
    return payload.length;
  }

  private receive(topic: string, payload: Buffer): void {
    if (topic === this.topic('decision')) {
      // An empty retained payload clears the decision (UE went offline): receivers ignore it.
      if (payload.length === 0) return;
      const decoded = decodeMessage('decision', payload);
      if (decoded.ok) this.handlers.decision(decoded.value);
      else this.handlers.invalid(decoded.error, topic);
    } else if (topic === this.topic('result')) {
      const decoded = decodeMessage('result', payload);
      if (decoded.ok) this.handlers.result(decoded.value, payload.length);
      else this.handlers.invalid(decoded.error, topic);
    } else if (topic === this.topic('error')) {
      const decoded = decodeMessage('error', payload);
      if (decoded.ok) this.handlers.error(decoded.value);
      else this.handlers.invalid(decoded.error, topic);
    }
  }
}
