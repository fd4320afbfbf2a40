/**
 * The broker's transports: MQTT over TCP or TLS, and MQTT over WebSocket. Every accepted socket
 * has Nagle's algorithm off; with it on, a small request/response round trip waits for the
 * delayed ACK (about 88 ms on loopback instead of under 1 ms). Every accepted socket passes the
 * connection gate first (see connection-gate.ts): a login deadline from accept on, covering the
 * TLS handshake and the WebSocket upgrade, and a cap on logins in progress per address.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createTcpServer, type Server as NetServer, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createServer as createTlsServer } from 'node:tls';
import { createWebSocketStream, WebSocketServer } from 'ws';
import type { ConnectionGate } from './connection-gate.js';
import { BrokerListenError } from './errors.js';
import type { Logger } from './log.js';

/** PEM key and certificate. */
export interface TlsMaterial {
  readonly key: string | Buffer;
  readonly cert: string | Buffer;
}

/** An open listener. */
export interface Listener {
  /** The port actually bound (useful when 0 was asked for). */
  readonly port: number;
  /** Stops accepting and destroys the connections it accepted. */
  close(): Promise<void>;
}

interface ListenOptions {
  readonly host: string;
  readonly port: number;
  readonly tls: TlsMaterial | undefined;
  readonly logger: Logger;
  /** Admits raw sockets and times their login. */
  readonly gate: ConnectionGate;
  /** Most bytes a connection may send before it logs in (CONNECT included). */
  readonly maxPreAuthBytes: number;
  /** Hands an accepted connection to the broker. */
  readonly accept: (stream: Duplex, request?: IncomingMessage) => void;
}

function bind(server: NetServer, what: string, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(new BrokerListenError(what, host, port, error));
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      const address = server.address();
      resolve(typeof address === 'object' && address !== null ? address.port : port);
    });
  });
}

function closeServer(server: NetServer, sockets: Set<Socket>): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    for (const socket of sockets) socket.destroy();
  });
}

/**
 * Node's own TLS handshake timeout, a backstop behind the gate's login deadline. Later than
 * the deadline: with the same value the two timers race, and a socket closed by Node's would
 * leave the broker without its refusal line and count.
 */
function backstopMs(gate: ConnectionGate): number {
  return 2 * gate.loginTimeoutMs;
}

function track(sockets: Set<Socket>, gate: ConnectionGate, socket: Socket): void {
  if (!gate.admit(socket)) return;
  socket.setNoDelay(true);
  sockets.add(socket);
  socket.once('close', () => sockets.delete(socket));
}

/** MQTT over TCP, or over TLS when `tls` is given. */
export async function listenMqtt(options: ListenOptions): Promise<Listener> {
  const { host, port, tls, logger, gate, accept } = options;
  const sockets = new Set<Socket>();
  const server =
    tls === undefined
      ? createTcpServer({ noDelay: true }, (socket) => accept(socket))
      : createTlsServer(
          // The gate's deadline covers the handshake; this is Node's own, as a second line.
          { key: tls.key, cert: tls.cert, noDelay: true, handshakeTimeout: backstopMs(gate) },
          (socket) => accept(socket),
        );
  // 'connection' carries the raw TCP socket, also under TLS.
  server.on('connection', (socket: Socket) => track(sockets, gate, socket));
  // A failed or timed-out handshake: nothing to log per socket (a scan would flood the log).
  if (tls !== undefined) server.on('tlsClientError', () => undefined);
  const what = tls === undefined ? 'MQTT listener' : 'MQTT/TLS listener';
  const bound = await bind(server, what, host, port);
  server.on('error', (error) => logger.error(`${what}: ${error.message}`));
  return { port: bound, close: () => closeServer(server, sockets) };
}

/** Room for WebSocket frame headers around the MQTT bytes of a login. */
const WS_FRAMING_SLACK = 1024;

/** MQTT over WebSocket (`ws://`, or `wss://` when `tls` is given), any path. */
export async function listenWebSocket(
  options: ListenOptions & { readonly maxMessageBytes: number },
): Promise<Listener> {
  const { host, port, tls, logger, gate, maxPreAuthBytes, accept, maxMessageBytes } = options;
  const sockets = new Set<Socket>();
  const server: Server =
    tls === undefined
      ? createHttpServer({ noDelay: true })
      : createHttpsServer({
          key: tls.key,
          cert: tls.cert,
          noDelay: true,
          handshakeTimeout: backstopMs(gate),
        });
  server.on('connection', (socket: Socket) => track(sockets, gate, socket));
  if (tls !== undefined) server.on('tlsClientError', () => undefined);
  const wss = new WebSocketServer({
    server,
    maxPayload: maxMessageBytes,
    perMessageDeflate: false,
    // Clients ask for the `mqtt` subprotocol (MQTT 3.1.1, section 6; `mqttv3.1` before it).
    handleProtocols: (protocols) =>
      protocols.has('mqtt') ? 'mqtt' : protocols.has('mqttv3.1') ? 'mqttv3.1' : false,
  });
  wss.on('connection', (ws, request) => {
    // ws buffers a whole message before the MQTT stream sees any of it, so the bytes of a
    // connection not logged in yet are counted as they arrive (the frame guard is too late).
    gate.capBytesBeforeLogin(request.socket, maxPreAuthBytes + WS_FRAMING_SLACK);
    const stream = createWebSocketStream(ws);
    // The stream re-emits the socket's errors; aedes listens for them once it has the stream.
    accept(stream, request);
  });
  wss.on('error', (error) => logger.error(`WebSocket listener: ${error.message}`));
  const what = tls === undefined ? 'MQTT/WebSocket listener' : 'MQTT/WebSocket (TLS) listener';
  const bound = await bind(server, what, host, port);
  server.on('error', (error) => logger.error(`${what}: ${error.message}`));
  return {
    port: bound,
    close: async () => {
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await closeServer(server, sockets);
    },
  };
}
