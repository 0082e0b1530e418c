// A plain HTTP server on 127.0.0.1 with a free port, as every fake in test/fakes/ runs: a handler that
// throws answers 500 with the error (a fake's bug shows in the test, not as a hung request).
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void | Promise<void>;

export async function listenLoopback(handler: Handler): Promise<{ server: http.Server; url: string }> {
  const server = http.createServer((req, res) => {
    Promise.resolve()
      .then(() => handler(req, res))
      .catch((err: Error) => {
        if (!res.headersSent) res.writeHead(500);
        res.end(String(err));
      });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** Stops listening and drops open connections (keep-alive clients included). */
export function closeLoopback(server: http.Server): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
