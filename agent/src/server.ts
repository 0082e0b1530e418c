// HTTP(S) endpoints: /metrics, /healthz (alive), /readyz (first successful read done).
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Snapshot } from './snapshot.js';

export interface TlsFiles {
  certFile: string;
  keyFile: string;
  /** With a CA, clients must present a certificate it signed (mTLS). */
  caFile?: string;
}

export interface ServerOptions {
  host: string;
  port: number;
  registry: Registry;
  snapshot: Snapshot;
  logger: Logger;
  tls?: TlsFiles;
}

export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const handler = requestHandler(options);
  const server = options.tls
    ? https.createServer(
        {
          cert: readFileSync(options.tls.certFile),
          key: readFileSync(options.tls.keyFile),
          ...(options.tls.caFile
            ? { ca: readFileSync(options.tls.caFile), requestCert: true, rejectUnauthorized: true }
            : {}),
        },
        handler,
      )
    : http.createServer(handler);
  server.keepAliveTimeout = 65_000; // longer than Prometheus' idle connection reuse
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `${options.tls ? 'https' : 'http'}://${host}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

function requestHandler({ registry, snapshot, logger }: ServerOptions): http.RequestListener {
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' }).end();
      return;
    }
    switch (path) {
      case '/metrics':
        registry.metrics().then(
          (body) => res.writeHead(200, { 'Content-Type': registry.contentType }).end(body),
          (err: Error) => {
            logger.error({ err: err.message }, 'collecting metrics failed');
            res.writeHead(500, { 'Content-Type': 'text/plain' }).end('collecting metrics failed\n');
          },
        );
        return;
      case '/healthz':
        res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok\n');
        return;
      case '/readyz':
        if (snapshot.ready) res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ready\n');
        else
          res
            .writeHead(503, { 'Content-Type': 'text/plain' })
            .end('waiting for the first read of the source\n');
        return;
      case '/':
        res
          .writeHead(200, { 'Content-Type': 'text/html' })
          .end('<html><body><h1>license-agent</h1><a href="/metrics">/metrics</a></body></html>\n');
        return;
      default:
        res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
    }
  };
}
