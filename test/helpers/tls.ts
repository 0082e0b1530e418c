// A throwaway certificate authority and certificates signed by it, made with openssl, for tests that
// speak TLS for real (HTTPS, mTLS, SMTP STARTTLS) and verify certificates instead of skipping checks.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface CertificateRequest {
  /** File stem: `<name>.pem` and `<name>.key`. */
  name: string;
  commonName: string;
  /** One openssl extension line, e.g. `subjectAltName=IP:127.0.0.1` or `extendedKeyUsage=clientAuth`. */
  extension: string;
}

export interface TestPki {
  dir: string;
  /** The CA certificate's path. */
  caFile: string;
  /** Path of a file in the PKI folder, e.g. `server.pem`. */
  path(file: string): string;
  read(file: string): Buffer;
  cleanup(): void;
}

/** A server certificate for 127.0.0.1 and localhost. */
export const SERVER_CERT: CertificateRequest = {
  name: 'server',
  commonName: '127.0.0.1',
  extension: 'subjectAltName=IP:127.0.0.1,DNS:localhost',
};

export function createTestPki(requests: CertificateRequest[] = [SERVER_CERT]): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'lm-pki-'));
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=test-ca',
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
  );
  for (const { name, commonName, extension } of requests) {
    writeFileSync(join(dir, `${name}.ext`), `${extension}\n`);
    openssl(
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      `/CN=${commonName}`,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
    );
    openssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '1',
      '-out',
      `${name}.pem`,
      '-extfile',
      `${name}.ext`,
    );
  }
  return {
    dir,
    caFile: join(dir, 'ca.pem'),
    path: (file) => join(dir, file),
    read: (file) => readFileSync(join(dir, file)),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
