/**
 * What the broker logs for a connection it closes below the ACLs: one the connection gate closed
 * (no login in time, over its address's cap, too many bytes before login) or one whose packets
 * the frame guard cut (too big, malformed, incomplete for too long).
 */
import type { GateRefusal } from './connection-gate.js';
import type { FrameProblem } from './frame-guard.js';
import type { RefusalKind, RefusalLog } from './log.js';

function packetKind(type: number): RefusalKind {
  if (type === 3) return 'publish';
  if (type === 8 || type === 10) return 'subscribe';
  return 'connect';
}

/** The kind and reason logged for a frame guard's problem. */
export function frameRefusal(problem: FrameProblem): { kind: RefusalKind; reason: string } {
  switch (problem.kind) {
    case 'oversize':
      return {
        kind: packetKind(problem.type),
        reason: problem.beforeAuth
          ? `packet of ${problem.length} bytes before authentication exceeds the limit of ${problem.limit}`
          : `packet of ${problem.length} bytes exceeds the limit of ${problem.limit}`,
      };
    case 'malformed':
      return { kind: packetKind(problem.type), reason: 'malformed packet length' };
    case 'pre-auth bytes':
      return {
        kind: 'connect',
        reason: `${problem.bytes} bytes before authentication exceed the limit of ${problem.limit}`,
      };
    case 'timeout':
      return {
        kind: packetKind(problem.type),
        reason: `packet incomplete after ${problem.ms} ms`,
      };
  }
}

/** The address of an `address:port` remote (IPv6 addresses hold colons too). */
function addressOf(remote: string): string {
  const colon = remote.lastIndexOf(':');
  return colon === -1 ? remote : remote.slice(0, colon);
}

function gateReason(refusal: GateRefusal): string {
  switch (refusal.kind) {
    case 'timeout':
      return `no login within ${refusal.ms} ms`;
    case 'cap':
      return `already ${refusal.max} connections of this address are logging in`;
    case 'bytes':
      return `more than ${refusal.max} bytes before login`;
  }
}

/**
 * Counts and logs a connection the gate closed (before any CONNECT, so without client id or
 * username); those over the per-address cap are logged quietly, per address.
 */
export function recordGateRefusal(refusals: RefusalLog, refusal: GateRefusal): void {
  const record = {
    kind: 'connect' as const,
    clientId: undefined,
    username: undefined,
    reason: gateReason(refusal),
    remote: refusal.remote,
  };
  if (refusal.kind === 'cap')
    refusals.record(
      record,
      `connections over the per-address cap from ${addressOf(refusal.remote)}`,
    );
  else refusals.record(record);
}
