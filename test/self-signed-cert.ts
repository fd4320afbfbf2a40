import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * A throwaway self-signed certificate for TLS tests and benchmarks (openssl, RSA 2048, one day),
 * valid for localhost and the given addresses; returns the PEM files' paths in `dir`.
 */
export function selfSignedCert(
  dir: string,
  addresses: readonly string[] = ['127.0.0.1'],
): { keyFile: string; certFile: string } {
  const keyFile = join(dir, 'key.pem');
  const certFile = join(dir, 'cert.pem');
  const names = ['DNS:localhost', ...addresses.map((address) => `IP:${address}`)].join(',');
  execFileSync(
    'openssl',
    [
      ...['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost'],
      ...['-days', '1', '-addext', `subjectAltName=${names}`, '-keyout', keyFile, '-out', certFile],
    ],
    { stdio: 'ignore' },
  );
  return { keyFile, certFile };
}
