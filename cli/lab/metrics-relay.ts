/**
 * Run by the lab inside its edge namespace (`node metrics-relay.js SOCKET PORT`): passes every
 * connection to the Unix socket SOCKET on to 127.0.0.1:PORT in that namespace, where the edge's
 * `up` serves its metrics. A Unix socket is a file, so the lab reaches it from the host's
 * namespace, which has no route into the edge's. Prints `relaying` on stdout once it listens;
 * stops on SIGTERM (or SIGINT), removing the socket.
 */
import { connect, createServer } from 'node:net';
import { stopSignal } from '../../runtime/shutdown.js';

/** Connections relayed at once; a scraper and a probe need a few. */
const MAX_CONNECTIONS = 32;

const [socketPath, portText] = process.argv.slice(2);
const port = Number(portText);
if (socketPath === undefined || !Number.isInteger(port) || port < 1 || port > 65535) {
  process.stderr.write('usage: metrics-relay SOCKET PORT\n');
  process.exit(2);
}

const server = createServer((client) => {
  const upstream = connect(port, '127.0.0.1');
  client.on('error', () => upstream.destroy());
  upstream.on('error', () => client.destroy());
  client.on('close', () => upstream.destroy());
  upstream.on('close', () => client.destroy());
  client.pipe(upstream).pipe(client);
});
server.maxConnections = MAX_CONNECTIONS;
server.on('error', (error) => {
  process.stderr.write(`metrics-relay: ${error.message}\n`);
  process.exit(1);
});
server.listen(socketPath, () => process.stdout.write('relaying\n'));
void stopSignal().then(() => {
  // Closing the server unlinks its socket file.
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
});
