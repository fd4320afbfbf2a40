/**
 * The AsyncAPI 3.0 document of the protocol, built from the same zod schemas that validate
 * every payload, so the contract and the code cannot drift (`docs/asyncapi.yaml` is this
 * object as YAML; a test regenerates it and fails on a difference).
 */
import { z } from 'zod';
import { type MessageKind, messageSchemas, RETAINED } from './messages.js';
import { DEFAULT_TOPIC_PREFIX } from './topics.js';

/** Who publishes on a channel and who subscribes to it. */
interface ChannelSpec {
  readonly kind: MessageKind;
  readonly address: string;
  readonly sender: string;
  readonly receivers: string;
  readonly description: string;
  /** The UE's view: what a device does with the channel, if it uses it. */
  readonly device?: 'send' | 'receive';
}

const UE = '{ue}';
const CHANNELS: Readonly<Record<string, ChannelSpec>> = {
  ueStatus: {
    kind: 'status',
    address: `ue/${UE}/status`,
    sender: 'the UE (birth, and offline before a planned disconnect); the broker (its last will)',
    receivers: 'the scheduler, observers',
    description:
      'Whether the UE is online. The last will of every UE connection is this message with state "offline".',
    device: 'send',
  },
  ueProfile: {
    kind: 'profile',
    address: `ue/${UE}/profile`,
    sender: 'the UE',
    receivers: 'the scheduler',
    description: "The UE's model, batch and what each cut costs on the device.",
    device: 'send',
  },
  ueLink: {
    kind: 'link',
    address: `ue/${UE}/link`,
    sender: 'the UE',
    receivers: 'the scheduler',
    description: "The UE's estimate of its link to the edge; published again when it changes.",
    device: 'send',
  },
  ueDecision: {
    kind: 'decision',
    address: `ue/${UE}/decision`,
    sender: 'the scheduler (leader)',
    receivers: 'the UE, edge workers, observers',
    description:
      'Where the UE cuts its model and how many edge units it has; a lower epoch than one applied is stale.',
    device: 'receive',
  },
  ueInfer: {
    kind: 'infer',
    address: `ue/${UE}/infer`,
    sender: 'the UE',
    receivers: 'the ingress',
    description:
      "One sample's head output, to be finished on the edge. A resend keeps the requestId.",
    device: 'send',
  },
  ueResult: {
    kind: 'result',
    address: `ue/${UE}/result`,
    sender: 'an edge worker (or the ingress, from a kept answer)',
    receivers: 'the UE',
    description: "The tail's output for one request.",
    device: 'receive',
  },
  ueError: {
    kind: 'error',
    address: `ue/${UE}/error`,
    sender: 'the ingress, an edge worker',
    receivers: 'the UE',
    description: 'Why something the UE sent was refused; with a requestId it fails that request.',
    device: 'receive',
  },
  ueStats: {
    kind: 'stats',
    address: `ue/${UE}/stats`,
    sender: 'the UE (the agent: every 2 s)',
    receivers: 'observers (the dashboard)',
    description:
      'What the UE measured over its recently finished tasks (latency p50 and p99, the latest task against its prediction). Optional for devices; nothing in the fleet acts on it.',
    device: 'send',
  },
  edgeStatus: {
    kind: 'edgeStatus',
    address: 'edge/{worker}/status',
    sender: 'an edge worker (its last will: offline)',
    receivers: 'the scheduler, edge workers, observers',
    description:
      "An edge worker's units and the edge time of each cut of the models it serves. Published again every 10 s while connected (EDGE_ANNOUNCE_MS); a worker not heard for 30 s (EDGE_STATUS_EXPIRY_MS) is taken for offline by its receivers.",
  },
  schedulerStatus: {
    kind: 'schedulerStatus',
    address: 'scheduler/status',
    sender: 'the scheduler (leader)',
    receivers: 'anyone (devices may read it)',
    description: 'Who leads and how the last solve went.',
  },
};

const TENSOR_DATA = {
  description:
    'msgpack bin: the float32 values in row-major order, little-endian, 4 bytes each (msgpackr typed-array extension 0x74 kind 7 is also read)',
  'x-msgpack-type': 'bin',
};

/** JSON Schema of a payload as it travels (zod's input side), tensor data described as bin. */
function payloadSchema(kind: MessageKind): Record<string, unknown> {
  const schema = z.toJSONSchema(messageSchemas[kind], {
    target: 'draft-7',
    io: 'input',
    unrepresentable: 'any',
    override: (context) => {
      const json = context.jsonSchema as Record<string, unknown>;
      if (context.path.at(-1) === 'data' && context.path.at(-3) === 'tensor') {
        for (const key of Object.keys(json)) delete json[key];
        Object.assign(json, TENSOR_DATA);
      }
    },
  }) as Record<string, unknown>;
  delete schema.$schema;
  return schema;
}

const parameter = (what: string) => ({ description: `${what}: 1-64 characters of [A-Za-z0-9._-]` });

/** The AsyncAPI 3.0 document, as a plain object. */
export function asyncApiDocument(prefix = DEFAULT_TOPIC_PREFIX): Record<string, unknown> {
  const channels: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  const messages: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(CHANNELS)) {
    const parameters: Record<string, unknown> = {};
    if (spec.address.includes(UE)) parameters.ue = parameter('UE id');
    if (spec.address.includes('{worker}')) parameters.worker = parameter('edge worker id');
    messages[spec.kind] = {
      name: spec.kind,
      contentType: 'application/msgpack',
      payload: payloadSchema(spec.kind),
    };
    channels[name] = {
      address: `${prefix}/${spec.address}`,
      description: `${spec.description} Sent by ${spec.sender}; received by ${spec.receivers}. QoS 1${RETAINED[spec.kind] ? ', retained' : ''}.`,
      ...(Object.keys(parameters).length > 0 ? { parameters } : {}),
      messages: { [spec.kind]: { $ref: `#/components/messages/${spec.kind}` } },
      'x-sender': spec.sender,
      'x-receivers': spec.receivers,
    };
    if (spec.device !== undefined)
      operations[`${spec.device}${name.slice(0, 1).toUpperCase()}${name.slice(1)}`] = {
        action: spec.device,
        channel: { $ref: `#/channels/${name}` },
        bindings: { mqtt: { qos: 1, retain: RETAINED[spec.kind] } },
      };
  }
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'edgesplit device protocol',
      version: '1.0.0',
      description:
        'MQTT topics and MessagePack payloads between edgesplit devices (UEs), the scheduler, the ingress and edge workers. Operations are those of a device; docs/protocol.md is the guide. Receivers ignore fields they do not know.',
      license: { name: 'Apache-2.0' },
    },
    defaultContentType: 'application/msgpack',
    servers: {
      broker: {
        host: 'localhost:1883',
        protocol: 'mqtt',
        description:
          'The edgesplit broker (or Mosquitto with `edgesplit ingress`). TLS: mqtts, and ws/wss where configured.',
        security: [{ $ref: '#/components/securitySchemes/userPassword' }],
        bindings: {
          mqtt: {
            cleanSession: false,
            lastWill: {
              topic: `${prefix}/ue/{ue}/status`,
              qos: 1,
              retain: true,
              message: 'a status with state "offline"',
            },
          },
        },
      },
    },
    channels,
    operations,
    components: {
      messages,
      securitySchemes: {
        userPassword: {
          type: 'userPassword',
          description:
            'Username and password. Roles: ue (username = UE id; password from the credentials file, a token, or base64url(HMAC-SHA256(fleet key, "edgesplit/ue-key/v1:" + id))), scheduler, ingress, edge, observer. A UE publishes only under its own ue/{ue}/ topics and reads only its own decision, result and error.',
        },
      },
    },
  };
}
