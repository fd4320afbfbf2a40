/**
 * The floods of the `flood` scenario of `npm run bench:system`, run as a process of their own
 * (`node --import tsx system-flood-load.ts KIND PORT CA_FILE WIDTH`) so that their client-side
 * work does not slow the measured client down. Keeps WIDTH connections from 127.0.0.1 going,
 * each one that ends replaced 10 ms later; prints `flooding` once started and `closed N` (the
 * connections that ended) on SIGTERM, then exits.
 */
import { readFileSync } from 'node:fs';
import { connect as connectTcp, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import mqtt, { type MqttClient } from 'mqtt';
import { stopSignal } from '../runtime/shutdown.js';

/** The address every flood connection comes from. */
export const FLOOD_FROM = '127.0.0.1';

/** `logins`: logins with a wrong password over TLS; `half-open`: 6 bytes of a ClientHello. */
export type FloodKind = 'logins' | 'half-open';

/** The first six bytes of a TLS ClientHello record. */
const CLIENT_HELLO_START = Buffer.from([0x16, 0x03, 0x01, 0x00, 0xc8, 0x01]);
/** Pause before replacing a connection, so the flood does not just spin on refusals. */
const REPLACE_AFTER_MS = 10;

interface Running {
  readonly closed: () => number;
  stop(): void;
}

function wrongPasswordLogins(port: number, ca: Buffer, width: number): Running {
  let stopped = false;
  let closed = 0;
  const live = new Set<MqttClient>();
  const start = () => {
    if (stopped) return;
    const client = mqtt.connect(`mqtts://127.0.0.1:${port}`, {
      username: 'bench-scheduler',
      password: 'not-the-password',
      ca,
      reconnectPeriod: 0,
      connectTimeout: 30_000,
      // Passed on to the socket (mqtt.js's types do not list it).
      ...{ localAddress: FLOOD_FROM },
    });
    live.add(client);
    client.on('error', () => undefined);
    client.once('close', () => {
      live.delete(client);
      client.end(true);
      closed += 1;
      setTimeout(start, REPLACE_AFTER_MS);
    });
  };
  for (let i = 0; i < width; i++) start();
  return {
    closed: () => closed,
    stop: () => {
      stopped = true;
      for (const client of live) client.end(true);
    },
  };
}

function halfOpenSockets(port: number, width: number): Running {
  let stopped = false;
  let closed = 0;
  const live = new Set<Socket>();
  const start = () => {
    if (stopped) return;
    const socket = connectTcp({ port, host: '127.0.0.1', localAddress: FLOOD_FROM });
    live.add(socket);
    socket.on('error', () => undefined);
    socket.once('connect', () => socket.write(CLIENT_HELLO_START));
    socket.once('close', () => {
      live.delete(socket);
      closed += 1;
      setTimeout(start, REPLACE_AFTER_MS);
    });
  };
  for (let i = 0; i < width; i++) start();
  return {
    closed: () => closed,
    stop: () => {
      stopped = true;
      for (const socket of live) socket.destroy();
    },
  };
}

function main(argv: readonly string[]): void {
  const [kind, portText, caFile, widthText] = argv;
  const port = Number(portText);
  const width = Number(widthText);
  if (kind !== 'logins' && kind !== 'half-open')
    throw new RangeError(`flood kind must be logins or half-open, not ${kind}`);
  if (!Number.isSafeInteger(port) || !Number.isSafeInteger(width) || caFile === undefined)
    throw new RangeError('usage: system-flood-load.ts KIND PORT CA_FILE WIDTH');
  const running =
    kind === 'logins'
      ? wrongPasswordLogins(port, readFileSync(caFile), width)
      : halfOpenSockets(port, width);
  process.stdout.write('flooding\n');
  void stopSignal().then(() => {
    const closed = running.closed();
    running.stop();
    process.stdout.write(`closed ${closed}\n`, () => process.exit(0));
  });
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1])
  main(process.argv.slice(2));
