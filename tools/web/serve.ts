// A static file server for the web build (sirv on node:http) that makes the page cross-origin
// isolated: every response carries Cross-Origin-Opener-Policy: same-origin and
// Cross-Origin-Embedder-Policy: require-corp, so the page gets SharedArrayBuffer and the wasm
// kernels run on several threads. `isolate: false` serves without them (one thread, as on a
// static host that cannot set headers).

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import sirv from 'sirv';

export interface ServeOptions {
  /** Port (0: any free one). */
  port?: number;
  host?: string;
  /** Send the cross-origin isolation headers (default true). */
  isolate?: boolean;
}

export interface Served {
  url: string;
  server: Server;
  close(): Promise<void>;
}

/** The headers that make a page cross-origin isolated (and let it load its own resources). */
export const ISOLATION_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
});

export function serveStatic(dir: string, opts: ServeOptions = {}): Promise<Served> {
  const isolate = opts.isolate ?? true;
  const files = sirv(dir, {
    dev: true, // no caching: a rebuild shows on reload
    setHeaders: (res) => {
      if (isolate) for (const [k, v] of Object.entries(ISOLATION_HEADERS)) res.setHeader(k, v);
    },
  });
  const server = createServer((req, res) => {
    files(req, res, () => {
      res.statusCode = 404;
      if (isolate) for (const [k, v] of Object.entries(ISOLATION_HEADERS)) res.setHeader(k, v);
      res.end('not found');
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      const host = opts.host && opts.host !== '0.0.0.0' ? opts.host : '127.0.0.1';
      resolve({
        url: `http://${host === '::' ? 'localhost' : host}:${port}/`,
        server,
        close: () => new Promise<void>((done) => {
          server.closeAllConnections();
          server.close(() => done());
        }),
      });
    });
  });
}
