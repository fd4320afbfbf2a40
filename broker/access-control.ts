/**
 * The aedes hooks that enforce authentication, ACLs and the payload limit: plain functions over
 * the connection's identity, no broker subclass.
 */
import type { Socket } from 'node:net';
import type {
  AedesOptions,
  AedesPublishPacket,
  AuthErrorCode,
  AuthenticateError,
  Client,
  ConnectPacket,
  PublishPacket,
  Subscription,
} from 'aedes';
import { decodeMessage, messageKindOf, RETAINED, tryParseTopic } from '../proto/index.js';
import {
  type AccessRules,
  accessRules,
  canPublish,
  canRead,
  canRetain,
  canSubscribe,
  type Identity,
} from './acl.js';
import type { RefusalKind, RefusalLog } from './log.js';
import type { LoginGuard } from './login-guard.js';
import { addressKey } from './login-throttle.js';

type Will = NonNullable<ConnectPacket['will']>;
type Hooks = Required<
  Pick<
    AedesOptions,
    'preConnect' | 'authenticate' | 'authorizePublish' | 'authorizeSubscribe' | 'authorizeForward'
  >
>;

/** What the hooks need to decide. */
export interface AccessControlOptions {
  /** undefined: authentication and ACLs are off (payload limit and `$SYS` still apply). */
  readonly logins: LoginGuard | undefined;
  readonly topicPrefix: string;
  readonly maxPayloadBytes: number;
  readonly refusals: RefusalLog;
}

/** The hooks, plus a way to see who a connected client is. */
export interface AccessControl {
  readonly hooks: Hooks;
  identityOf(client: Client): Identity | undefined;
}

// aedes reserves `$SYS/` for itself (moscajs/aedes#597).
/** MQTT shared subscriptions (`$share/GROUP/filter`), which aedes does not implement. */
const SHARE_PREFIX = '$share/';
const SYS_PREFIX = '$SYS/';

function payloadBytes(payload: Buffer | string): number {
  return typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
}

/** Remote address of a TCP/TLS socket or of the HTTP request behind a WebSocket. */
function remoteAddressOf(client: Client): string | undefined {
  return (client.conn as Partial<Socket>).remoteAddress ?? client.req?.socket.remoteAddress;
}

/** Remote address and port of a client, as logged. */
export function remoteOf(client: Client): string | undefined {
  const address = remoteAddressOf(client);
  const port = (client.conn as Partial<Socket>).remotePort ?? client.req?.socket.remotePort;
  return address === undefined ? undefined : `${address}:${port ?? '?'}`;
}

function authError(message: string, returnCode: AuthErrorCode): AuthenticateError {
  return Object.assign(new Error(message), { returnCode });
}

// CONNACK return codes (MQTT 3.1.1, table 3.1); aedes types them as an ambient const enum.
const SERVER_UNAVAILABLE = 3 as AuthErrorCode;
const BAD_USERNAME_OR_PASSWORD = 4 as AuthErrorCode;
const NOT_AUTHORIZED = 5 as AuthErrorCode;

/** What a refused login is told: throttled ones that they are not allowed (yet), busy ones to retry. */
const RETURN_CODES = {
  bad: BAD_USERNAME_OR_PASSWORD,
  throttled: NOT_AUTHORIZED,
  busy: SERVER_UNAVAILABLE,
} as const;

/**
 * Whether a retained payload may replace what the broker stores for `topic`: on one of our
 * retained topics it must be empty (a clear) or a valid message of the topic's kind. Anything
 * else (a foreign topic, a kind never retained) is not judged here.
 */
function storable(
  topicPrefix: string,
  topic: string,
  payload: Buffer | string,
  maxBytes: number,
): boolean {
  if (payloadBytes(payload) === 0) return true;
  const parsed = tryParseTopic(topicPrefix, topic);
  if (!parsed.ok) return true;
  const kind = messageKindOf(parsed.value);
  if (!RETAINED[kind]) return true;
  const bytes = typeof payload === 'string' ? Buffer.from(payload) : payload;
  return decodeMessage(kind, bytes, { maxBytes }).ok;
}

export function accessControl(options: AccessControlOptions): AccessControl {
  const { logins, topicPrefix, maxPayloadBytes, refusals } = options;
  const rulesByClient = new WeakMap<Client, AccessRules>();
  const willByClient = new WeakMap<Client, Will>();

  const refuse = (
    kind: RefusalKind,
    client: Client | null,
    reason: string,
    topic?: string,
    username?: string,
    quietKey?: string,
  ) => {
    const rules = client === null ? undefined : rulesByClient.get(client);
    const remote = client === null ? undefined : remoteOf(client);
    refusals.record(
      {
        kind,
        clientId: client?.id ?? undefined,
        username: rules?.identity.username ?? username,
        reason,
        ...(topic === undefined ? {} : { topic }),
        ...(remote === undefined ? {} : { remote }),
      },
      quietKey,
    );
  };

  /** Why `rules` may not publish this, or undefined if they may. */
  const publishProblem = (
    rules: AccessRules | 'stored will' | undefined,
    topic: string,
    payload: Buffer | string,
    retain: boolean,
  ): string | undefined => {
    const bytes = payloadBytes(payload);
    if (bytes > maxPayloadBytes)
      return `payload of ${bytes} bytes exceeds the limit of ${maxPayloadBytes}`;
    if (topic.startsWith(SYS_PREFIX)) return `${SYS_PREFIX} topics are reserved for the broker`;
    if (logins === undefined || rules === 'stored will') return undefined;
    if (rules === undefined) return 'not authenticated';
    if (!canPublish(rules, topic)) return `role ${rules.identity.role} may not publish here`;
    if (retain && bytes > 0 && !canRetain(topicPrefix, topic))
      return 'this topic must not be retained';
    return undefined;
  };

  const hooks: Hooks = {
    preConnect(client, packet, callback) {
      if (logins !== undefined) {
        if (packet.will !== undefined) willByClient.set(client, packet.will);
        // A session belongs to its client id: prefix it with the username so that no client
        // can take over another user's session, its subscriptions or its queued QoS 1
        // messages [MQTT-3.1.4-2]. Usernames are ids, so they hold no ':'. An empty id keeps
        // aedes's random one.
        if (packet.clientId !== '' && typeof packet.username === 'string')
          packet.clientId = `${packet.username}:${packet.clientId}`;
      }
      callback(null, true);
    },

    authenticate(client, username, password, done) {
      if (logins === undefined) {
        done(null, true);
        return;
      }
      const address = addressKey(remoteAddressOf(client));
      logins.login(address, username, password).then(
        (outcome) => {
          if (!outcome.ok) {
            // Logins refused unchecked come as fast as a flood sends them: one line per address
            // and kind now and then, the rest counted.
            const quiet =
              outcome.kind === 'bad' ? undefined : `${outcome.kind} logins from ${address}`;
            refuse('connect', client, outcome.reason, undefined, username, quiet);
            done(authError(outcome.reason, RETURN_CODES[outcome.kind]), false);
            return;
          }
          const rules = accessRules(outcome.identity, topicPrefix);
          rulesByClient.set(client, rules);
          // The last will is published on the client's behalf later; it must pass the same
          // check as a publish, so refuse the connection now rather than drop the will then.
          const will = willByClient.get(client);
          const problem =
            will === undefined
              ? undefined
              : publishProblem(rules, will.topic, will.payload, will.retain === true);
          if (will !== undefined && problem !== undefined) {
            rulesByClient.delete(client);
            refuse('connect', client, `last will: ${problem}`, will.topic);
            done(authError(`last will: ${problem}`, NOT_AUTHORIZED), false);
            return;
          }
          done(null, true);
        },
        (error: unknown) => {
          refuse('connect', client, `authentication failed: ${String(error)}`, undefined, username);
          done(authError('authentication failed', NOT_AUTHORIZED), false);
        },
      );
    },

    // An error closes the connection: MQTT 3.1.1 has no negative PUBACK [MQTT-3.3.5-2]. This
    // also runs for a client's last will when it is published.
    authorizePublish(client, packet: PublishPacket, callback) {
      // client is null only for a will left by a session of an earlier broker incarnation,
      // which passed this check when its client connected; the size limit still applies.
      const rules = client === null ? 'stored will' : rulesByClient.get(client);
      const problem = publishProblem(rules, packet.topic, packet.payload, packet.retain);
      if (problem === undefined) {
        // An invalid retained payload is delivered, so that its reader rejects it and tells the
        // UE, but not stored: the last valid message stays retained, and a restarted scheduler
        // rebuilds the state the invalid payload did not change.
        if (packet.retain && !storable(topicPrefix, packet.topic, packet.payload, maxPayloadBytes))
          packet.retain = false;
        callback(null);
        return;
      }
      refuse('publish', client, problem, packet.topic);
      callback(new Error(`publish refused: ${problem}`));
    },

    // Refusing with a null subscription answers 0x80 in the SUBACK and keeps the connection
    // [MQTT-3.9.3]. Also runs when a persistent session's subscriptions are restored.
    authorizeSubscribe(client, subscription: Subscription, callback) {
      // aedes has no shared subscriptions: `$share/...` would be taken as a plain filter that
      // matches nothing, and an `edgesplit ingress --group` would wait for requests for ever.
      if (subscription.topic.startsWith(SHARE_PREFIX)) {
        refuse('subscribe', client, 'this broker has no shared subscriptions', subscription.topic);
        callback(null, null);
        return;
      }
      if (logins === undefined) {
        callback(null, subscription);
        return;
      }
      const rules = rulesByClient.get(client);
      if (rules !== undefined && canSubscribe(rules, subscription.topic)) {
        callback(null, subscription);
        return;
      }
      const reason =
        rules === undefined
          ? 'not authenticated'
          : `role ${rules.identity.role} may not read everything this filter matches`;
      refuse('subscribe', client, reason, subscription.topic);
      callback(null, null);
    },

    // Belt and braces: a delivery the subscription check should already have excluded.
    authorizeForward(client, packet: AedesPublishPacket) {
      if (logins === undefined) return packet;
      const rules = rulesByClient.get(client);
      if (rules !== undefined && canRead(rules, packet.topic)) return packet;
      refuse('forward', client, 'not readable by this client', packet.topic);
      return null;
    },
  };

  return { hooks, identityOf: (client) => rulesByClient.get(client)?.identity };
}
