// Part of `npm run build` / `prepare`: build the optional OpenBLAS GEMM addon (native/) where the
// system can — its header (Debian: libopenblas-dev) is installed — so that the fast backend is
// the default wherever it is possible; otherwise say in one line how to get it, and succeed.
// A failed build is reported and does not fail the install: the wasm backend does not need it.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const INCLUDE_DIRS = ['/usr/include', '/usr/include/x86_64-linux-gnu', '/usr/include/aarch64-linux-gnu', '/usr/include/openblas', '/usr/local/include'];
const header = INCLUDE_DIRS.map((d) => `${d}/cblas.h`).find((f) => existsSync(f));
if (!header || process.env.RNNLM_SKIP_NATIVE) {
  console.log(`rnnlm: OpenBLAS GEMM addon not built (${header ? 'RNNLM_SKIP_NATIVE is set' : 'no cblas.h: apt-get install libopenblas-dev, then npm run build:native'}); the wasm backend is used`);
  process.exit(0);
}
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const r = spawnSync(npm, ['run', '--silent', 'build:native'], { encoding: 'utf8' });
if (r.status === 0) {
  console.log('rnnlm: built the OpenBLAS GEMM addon (native/build/Release/rnnlm_blas.node)');
} else {
  const why = `${r.stderr ?? ''}${r.stdout ?? ''}`.trim().split('\n').filter((l) => /error/i.test(l)).slice(0, 3).join(' | ');
  console.log(`rnnlm: the OpenBLAS GEMM addon did not build (${why || r.error?.message || `exit ${r.status}`}); the wasm backend is used`);
}
