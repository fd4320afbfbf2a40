import {
  type Decision,
  decodeMessage,
  type SchedulerStatus,
  tryParseTopic,
} from '../../proto/index.js';
import type { FleetEvent } from './fleet-state.js';
import type { RejectedPayload } from './scheduler-events.js';

/** What an incoming MQTT message means to the scheduler. */
export type Inbound =
  | { readonly kind: 'event'; readonly event: FleetEvent }
  | { readonly kind: 'rejected'; readonly rejected: RejectedPayload }
  /** A retained decision, read at start-up to continue the epoch. */
  | { readonly kind: 'decision'; readonly ue: string; readonly decision: Decision }
  /** A retained `scheduler/status`, read at start-up to continue the epoch. */
  | { readonly kind: 'schedulerStatus'; readonly status: SchedulerStatus }
  | { readonly kind: 'ignored' };

const IGNORED: Inbound = { kind: 'ignored' };

/**
 * Decodes one message (pure). Foreign topics and empty payloads (a cleared retained message,
 * which docs/live-system.md says receivers ignore) are ignored; an invalid input payload is
 * rejected, naming the UE to tell. Invalid decisions and scheduler statuses are ours, not a UE's
 * fault: they are ignored.
 */
export function routeMessage(prefix: string, topic: string, payload: Uint8Array): Inbound {
  const parsed = tryParseTopic(prefix, topic);
  if (!parsed.ok || payload.length === 0) return IGNORED;
  const where = parsed.value;
  switch (where.kind) {
    case 'edge': {
      const result = decodeMessage('edgeStatus', payload);
      if (!result.ok)
        return { kind: 'rejected', rejected: { topic, worker: where.worker, error: result.error } };
      return {
        kind: 'event',
        event: { type: 'edgeStatus', worker: where.worker, status: result.value },
      };
    }
    case 'scheduler': {
      const result = decodeMessage('schedulerStatus', payload);
      return result.ok ? { kind: 'schedulerStatus', status: result.value } : IGNORED;
    }
    case 'ue':
      return routeUe(topic, where.ue, where.channel, payload);
  }
}

function routeUe(topic: string, ue: string, channel: string, payload: Uint8Array): Inbound {
  const reject = (result: { error: RejectedPayload['error'] }): Inbound => ({
    kind: 'rejected',
    rejected: { topic, ue, error: result.error },
  });
  switch (channel) {
    case 'status': {
      const result = decodeMessage('status', payload);
      if (!result.ok) return reject(result);
      return { kind: 'event', event: { type: 'ueStatus', ue, status: result.value } };
    }
    case 'profile': {
      const result = decodeMessage('profile', payload);
      if (!result.ok) return reject(result);
      return { kind: 'event', event: { type: 'profile', ue, profile: result.value } };
    }
    case 'link': {
      const result = decodeMessage('link', payload);
      if (!result.ok) return reject(result);
      return { kind: 'event', event: { type: 'link', ue, link: result.value } };
    }
    case 'decision': {
      const result = decodeMessage('decision', payload);
      return result.ok ? { kind: 'decision', ue, decision: result.value } : IGNORED;
    }
    default:
      return IGNORED;
  }
}
