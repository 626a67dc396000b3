// The web build: bundle the page, the training Worker and the kernel Worker with esbuild, copy
// the two .wasm builds (from `npm run asbuild`, dist/wasm/) and the HTML next to them. The output
// folder (default dist/web/) is static: any host can serve it; serve it with the cross-origin
// isolation headers (serve.ts; `_headers` covers hosts that read that file) for several threads.

import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';
import { ISOLATION_HEADERS } from './serve.js';

/** The repository root (this file runs as dist/tools/web/build.js). */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const DEFAULT_OUT = join(ROOT, 'dist', 'web');
const WASM = ['rnnlm-simd.wasm', 'rnnlm-relaxed.wasm'];

export interface BuildOptions {
  outdir?: string;
  minify?: boolean;
  /** More entry points bundled into the same folder (tests and benchmarks): name → source path from the root. */
  extraEntries?: Record<string, string>;
}

export interface BuildResult {
  outdir: string;
  /** Bytes of each output file, and gzipped. */
  files: { name: string; bytes: number; gzip: number }[];
  /** The page's own JavaScript (app.js + train-worker.js + kernel-worker.js), gzipped. */
  pageJsGzip: number;
}

export async function buildWeb(opts: BuildOptions = {}): Promise<BuildResult> {
  const outdir = opts.outdir ?? DEFAULT_OUT;
  for (const w of WASM) {
    if (!existsSync(join(ROOT, 'dist', 'wasm', w))) throw new Error(`dist/wasm/${w} is missing: run \`npm run asbuild\` first`);
  }
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(join(outdir, 'wasm'), { recursive: true });
  const entryPoints: Record<string, string> = {
    app: join(ROOT, 'src/web/page/main.ts'),
    'train-worker': join(ROOT, 'src/web/worker/train-worker.ts'),
    'kernel-worker': join(ROOT, 'src/web/kernel-worker.ts'),
  };
  for (const [name, path] of Object.entries(opts.extraEntries ?? {})) entryPoints[name] = join(ROOT, path);
  const result = await esbuild.build({
    entryPoints, outdir, bundle: true, format: 'esm', platform: 'browser', target: ['chrome111', 'firefox111', 'safari16.4'],
    minify: opts.minify ?? true, sourcemap: 'linked', metafile: true, logLevel: 'silent', legalComments: 'none',
  });
  const nodeish = Object.keys(result.metafile.inputs).filter((p) => p.startsWith('node:') || p.includes('src/node/') || p.includes('src/cli/'));
  if (nodeish.length > 0) throw new Error(`the web build pulls in Node code: ${nodeish.join(', ')}`);
  for (const w of WASM) copyFileSync(join(ROOT, 'dist', 'wasm', w), join(outdir, 'wasm', w));
  copyFileSync(join(ROOT, 'src/web/page/index.html'), join(outdir, 'index.html'));
  // Netlify / Cloudflare Pages read this file: the page is cross-origin isolated there too.
  writeFileSync(join(outdir, '_headers'), `/*\n${Object.entries(ISOLATION_HEADERS).map(([k, v]) => `  ${k}: ${v}`).join('\n')}\n`);
  const names = [...Object.keys(entryPoints).flatMap((n) => [`${n}.js`]), 'app.css', 'index.html', ...WASM.map((w) => `wasm/${w}`)];
  const files = names.filter((n) => existsSync(join(outdir, n))).map((name) => {
    const data = readFileSync(join(outdir, name));
    return { name, bytes: data.length, gzip: gzipSync(data, { level: 9 }).length };
  });
  const pageJsGzip = files.filter((f) => ['app.js', 'train-worker.js', 'kernel-worker.js'].includes(f.name)).reduce((s, f) => s + f.gzip, 0);
  return { outdir, files, pageJsGzip };
}
