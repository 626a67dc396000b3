// Two-thread scaling of the wasm GEMM, as a distribution: 40 alternating pairs of calls (1 thread,
// then 2 threads) on the output-layer shape 700×200×10000, in each layout; prints the quartiles of
// the per-pair time ratio and the median and best GFLOP/s of each side. On a machine whose
// scheduler sometimes packs the two threads onto one CPU the ratio is bimodal, which a single
// median hides. Run alone: `node dist/bench/scaling.js [plain]` (default: the FMA build).

import { createWasmKernels } from '../src/kernels/wasm/kernels.js';
import { nodeWasmPlatform as nodePlatform } from '../src/node/wasm-platform.js';

const PAIRS = 40;
const WARM = 6;
const M = 700;
const K = 200;
const N = 10000;

function quantile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(p * (s.length - 1))];
}

const relaxed = process.argv[2] !== 'plain';
const k1 = await createWasmKernels(nodePlatform, { threads: 1, relaxed });
const k2 = await createWasmKernels(nodePlatform, { threads: 2, relaxed });
console.log(`${k1.name} vs ${k2.name}, ${M}×${K}×${N}, ${PAIRS} alternating pairs`);
console.log('layout  ratio q25 / median / q75   1 thread GFLOP/s median (best)   2 threads GFLOP/s median (best)');
for (const [layout, ta, tb] of [['A·B', false, false], ['Aᵀ·B', true, false], ['A·Bᵀ', false, true]] as const) {
  const calls = [k1, k2].map((k) => {
    const A = k.alloc(M * K).fill(0.5);
    const B = k.alloc(K * N).fill(0.25);
    const C = k.alloc(M * N);
    return (): number => {
      const t0 = performance.now();
      k.gemm(C, A, B, M, N, K, ta, tb, 0);
      return performance.now() - t0;
    };
  });
  for (let i = 0; i < WARM; i++) for (const c of calls) c();
  const ratio: number[] = [];
  const g1: number[] = [];
  const g2: number[] = [];
  for (let i = 0; i < PAIRS; i++) {
    const t1 = calls[0]();
    const t2 = calls[1]();
    ratio.push(t1 / t2);
    g1.push((2 * M * N * K) / (t1 * 1e6));
    g2.push((2 * M * N * K) / (t2 * 1e6));
  }
  const f = (x: number): string => x.toFixed(2);
  console.log(
    `${layout.padEnd(7)} ${f(quantile(ratio, 0.25))}× / ${f(quantile(ratio, 0.5))}× / ${f(quantile(ratio, 0.75))}×` +
      `        ${quantile(g1, 0.5).toFixed(1)} (${Math.max(...g1).toFixed(1)})` +
      `                   ${quantile(g2, 0.5).toFixed(1)} (${Math.max(...g2).toFixed(1)})`,
  );
}
k1.dispose();
k2.dispose();
