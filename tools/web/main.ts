// `npm run build:web` (node dist/tools/web/main.js build [OUTDIR]): write the static page.
// `npm run web` (node dist/tools/web/main.js serve [--port N] [--host H]): build it, serve it
// cross-origin isolated and print the URL. Ctrl-C stops the server.

import { buildWeb } from './build.js';
import { serveStatic } from './serve.js';

const kb = (n: number): string => `${(n / 1024).toFixed(1)} KiB`;

async function main(): Promise<void> {
  const [command = 'serve', ...args] = process.argv.slice(2);
  const flag = (name: string): string | undefined => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  if (command !== 'build' && command !== 'serve') {
    console.error(`usage: main.js build [OUTDIR] | serve [--port N] [--host H]  (got ${command})`);
    process.exit(1);
  }
  const built = await buildWeb({ outdir: command === 'build' && args[0] && !args[0].startsWith('--') ? args[0] : undefined });
  for (const f of built.files) console.log(`  ${f.name.padEnd(24)} ${kb(f.bytes).padStart(10)}  (${kb(f.gzip)} gzipped)`);
  console.log(`page JavaScript: ${kb(built.pageJsGzip)} gzipped; written to ${built.outdir}`);
  if (command === 'build') return;
  const port = Number(flag('--port') ?? process.env.PORT ?? 8080);
  const served = await serveStatic(built.outdir, { port, host: flag('--host') ?? '127.0.0.1' }).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EADDRINUSE') throw err;
    console.log(`port ${port} is taken; using a free one`);
    return serveStatic(built.outdir, { port: 0, host: flag('--host') ?? '127.0.0.1' });
  });
  console.log(`\nrnnlm in the browser: ${served.url}  (cross-origin isolated: several threads; Ctrl-C stops)`);
  process.on('SIGINT', () => void served.close().then(() => process.exit(0)));
}

main().catch((err: unknown) => {
  console.error(`error: ${(err as Error).message}`);
  process.exit(1);
});
