/**
 * Where link probes end (docs/links-and-lab.md, "Probing"): a UE publishes raw bytes on its own
 * `ue/{ue}/probe` topic at QoS 1 and times the PUBACK; the broker acknowledges, delivers the probe
 * to nobody and keeps nothing of it. Probes over 1 MiB, or over the UE's budget (ProbeLimit), get
 * an error report on the UE's error topic; nothing else is affected.
 */
import {
  type ErrorReport,
  encodeMessage,
  MAX_PROBE_BYTES,
  probeTopicUe,
  ueTopic,
} from '../proto/index.js';
import { ProbeLimit, type ProbeLimitOptions } from './probe-limit.js';

export interface ProbeSink {
  /** Whether `topic` is a probe topic (then the publish is handled here and goes no further). */
  isProbe(topic: string): boolean;
  /** Takes a probe that passed the ACLs: charges the UE's budget, tells it when it is over. */
  accept(topic: string, payload: Buffer | string): void;
}

export function probeSink(
  topicPrefix: string,
  publish: (topic: string, payload: Buffer) => void,
  options: ProbeLimitOptions = {},
): ProbeSink {
  const limit = new ProbeLimit(options);
  const refuse = (ue: string, topic: string, code: ErrorReport['code'], message: string) => {
    const report: ErrorReport = { code, message, topic, issues: [] };
    publish(ueTopic(topicPrefix, ue, 'error'), encodeMessage(report));
  };
  return {
    isProbe: (topic) => probeTopicUe(topicPrefix, topic) !== undefined,
    accept(topic, payload) {
      const ue = probeTopicUe(topicPrefix, topic);
      if (ue === undefined) return;
      const bytes = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
      if (bytes > MAX_PROBE_BYTES)
        refuse(
          ue,
          topic,
          'PAYLOAD_TOO_LARGE',
          `probe of ${bytes} bytes exceeds the limit of ${MAX_PROBE_BYTES}: discarded`,
        );
      else if (!limit.take(ue, bytes))
        refuse(
          ue,
          topic,
          'PROBE_RATE_LIMITED',
          `probe of ${bytes} bytes is over this UE's probe budget: discarded; probe less often`,
        );
    },
  };
}
