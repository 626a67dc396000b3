// The fused kernels (one call per segment, mask, class or batch; references in
// src/kernels/ref-fused.ts) on every backend: the reference in float32 and the wasm builds
// (plain SIMD and relaxed SIMD, 1 and 2 threads) against the independent float64 specification
// (test/kernel-spec.ts) computed from the same float32 inputs, at awkward sizes (1, 3, 5, 17, 67,
// past the thread splits), arrays from the backend's memory and plain ones at odd offsets; then
// 1 and 2 threads bit for bit. Tolerances are stated per kernel relative to the magnitude of the
// terms; a failure prints the largest violation.
// RNNLM_CONFORMANCE_ONLY=ref: the reference row alone at the small sizes (mutation testing of
// ref.ts and ref-fused.ts, scripts/mutate.mjs: the reference has no blocking or thread splits).
// Legend: T steps, B streams, H hidden, N rows, V words, C classes, O orders, S table entries.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';

import type { Activation, Arr, Kernels } from '../src/kernels/kernels.js';
import { RefKernels } from '../src/kernels/ref.js';
import {
  ABSENT, hsBatchPlan, planViews, type ClassPlan, type DirectArgs, type HsPlanBuffers, type HsTree, type SparseGrad, type SparseStep,
} from '../src/kernels/ref-fused.js';
import { createWasmKernels, type WasmKernels } from '../src/kernels/wasm/kernels.js';
import { nodeWasmPlatform } from '../src/node/wasm-platform.js';
import { buildHuffmanTree, treePaths } from '../src/nn/hsoftmax.js';
import { Rng } from '../src/rng.js';
import * as spec from './kernel-spec.js';
import { f32 } from './conformance-subset.js';

interface Backend {
  label: string;
  kernels?: Kernels;
  skip?: string;
}

const refOnly = process.env.RNNLM_CONFORMANCE_ONLY === 'ref';
/** The cases of a kernel: all of them, or those with every size ≤ `small` under RNNLM_CONFORMANCE_ONLY=ref. */
const cases = <T extends number[]>(all: T[], small = 67): T[] => (refOnly ? all.filter((c) => Math.max(...c) <= small) : all);

const backends: Backend[] = [{ label: 'ref (float32)', kernels: new RefKernels() }];
const wasmByBuild = new Map<string, { 1?: WasmKernels; 2?: WasmKernels }>();
for (const relaxed of refOnly ? [] : [false, true]) {
  for (const threads of [1, 2] as const) {
    const label = `wasm ${relaxed ? 'simd+relaxed (fma)' : 'simd'}, ${threads} thread${threads > 1 ? 's' : ''}`;
    try {
      const k = await createWasmKernels(nodeWasmPlatform, { threads, relaxed });
      backends.push({ label, kernels: k });
      const build = relaxed ? 'relaxed' : 'simd';
      wasmByBuild.set(build, { ...wasmByBuild.get(build), [threads]: k });
    } catch (err) {
      console.log(`# skipping backend "${label}": ${(err as Error).message}`);
      backends.push({ label, skip: (err as Error).message });
    }
  }
}
after(() => {
  for (const b of backends) b.kernels?.dispose();
});


/** The specification's dropout masks by size and p, computed once for all backends (BigInt arithmetic is slow). */
const maskSpec = new Map<string, Float32Array>();

function rand(rng: Rng, n: number, lo = -1, hi = 1): Float64Array {
  return Float64Array.from({ length: n }, () => Math.fround(rng.uniform(lo, hi)));
}

/** An i32 array in the backend's memory (own) or a plain one. */
function ints(k: Kernels, src: ArrayLike<number>, own: boolean): Int32Array {
  if (!own) return Int32Array.from(src);
  const f = k.alloc(src.length);
  const a = new Int32Array(f.buffer, f.byteOffset, src.length);
  a.set(src);
  return a;
}

function expectClose(what: string, got: ArrayLike<number>, want: ArrayLike<number>, tol: (i: number) => number, n = want.length): void {
  let worst = -1;
  let ratio = 0;
  for (let i = 0; i < n; i++) {
    if (Number.isNaN(got[i]) !== Number.isNaN(want[i])) {
      worst = i;
      ratio = Infinity;
      break;
    }
    const r = Math.abs(got[i] - want[i]) / tol(i);
    if (r > ratio) {
      ratio = r;
      worst = i;
    }
  }
  if (ratio > 1) {
    assert.fail(`${what}: largest violation at [${worst}]: got ${got[worst]}, want ${want[worst]}, |diff| ${Math.abs(got[worst] - want[worst]).toExponential(3)} > tol ${tol(worst).toExponential(3)}`);
  }
}

function sameBits(what: string, a: ArrayLike<number>, b: ArrayLike<number>): void {
  assert.equal(a.length, b.length, `${what}: lengths`);
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) assert.fail(`${what}: first difference at [${i}]: ${a[i]} vs ${b[i]}`);
}

/** A random class plan: C classes with sizes in [1, maxS] (some one-word), N rows with random targets, sorted by class. */
function randomPlan(rng: Rng, C: number, N: number, maxS: number): { plan: ClassPlan; V: number } {
  const sizes = Array.from({ length: C }, (_, c) => (c % 3 === 0 ? 1 : 1 + rng.int(maxS)));
  const wordStart = [0];
  for (const s of sizes) wordStart.push(wordStart[wordStart.length - 1] + s);
  const V = wordStart[C];
  const cls = Array.from({ length: N }, () => rng.int(C));
  const rowStart = new Array(C + 1).fill(0);
  for (const c of cls) rowStart[c + 1]++;
  for (let c = 0; c < C; c++) rowStart[c + 1] += rowStart[c];
  const fill = rowStart.slice(0, C);
  const perm = new Array(N);
  const tPos = new Array(N);
  // rows in a shuffled order, so that perm is not the identity
  const rows = Array.from({ length: N }, (_, r) => r).sort(() => rng.next() - 0.5);
  const byRow = new Array(N);
  rows.forEach((r, i) => (byRow[r] = cls[i]));
  for (let r = 0; r < N; r++) {
    const c = byRow[r];
    const p = fill[c]++;
    perm[p] = r;
    tPos[p] = rng.int(sizes[c]);
  }
  const zStart = [0];
  for (let c = 0; c < C; c++) zStart.push(zStart[c] + (rowStart[c + 1] - rowStart[c]) * sizes[c]);
  const data = Int32Array.from([...rowStart, ...wordStart, ...zStart, ...perm, ...tPos]);
  return { plan: { C, N, data }, V };
}

function randomKeys(rng: Rng, R: number, O: number, S: number): Uint32Array {
  // some keys near the end of the table (the runs wrap), some absent
  return Uint32Array.from({ length: R * O }, (_, i) => (i % 7 === 3 ? ABSENT : i % 5 === 1 ? S - 1 - rng.int(Math.min(S, 3)) : rng.int(S)));
}

for (const backend of backends) {
  describe(`fused kernels conformance: ${backend.label}`, { skip: backend.skip }, () => {
    const k = backend.kernels!;

    it('dropoutMask: the bits of the specification, any size and offset; mul exact', () => {
      let n = 0;
      for (const [len] of cases([[1], [3], [5], [17], [67], [129], [70001], [300007]], 129)) {
        for (const p of [0, 0.25, 0.5, 0.9]) {
          const k0 = (len * 2654435761) >>> 0;
          const k1 = (p * 1e9 + 7) >>> 0;
          const key = `${len}/${p}`;
          if (!maskSpec.has(key)) maskSpec.set(key, Float32Array.from(spec.dropoutMask(len, p, k0, k1)));
          const want = maskSpec.get(key)!;
          const got = f32(k, new Float64Array(len), n % 3, n % 2 === 0);
          k.dropoutMask(got, len, p, k0, k1);
          sameBits(`dropoutMask n=${len} p=${p}`, got, want);
          n++;
        }
        const rng = new Rng(len);
        const x = rand(rng, len);
        const m = rand(rng, len, 0, 2);
        const y = f32(k, new Float64Array(len), 1, n % 2 === 1);
        k.mul(y, f32(k, x, 2, true), f32(k, m, 0, false), len);
        sameBits(`mul n=${len}`, y, Float32Array.from(x, (v, i) => Math.fround(v * m[i])));
        const xs = f32(k, x, 1, n % 2 === 0);
        k.mul(xs, xs, f32(k, m, 0, true), len);
        sameBits(`mul in place n=${len}`, xs, y);
      }
      // the drop rate is p (2^16 draws: the standard error is 0.0018)
      const big = k.alloc(refOnly ? 1 << 16 : 1 << 18);
      k.dropoutMask(big, big.length, 0.3, 12345, 678);
      const rate = big.reduce((a, v) => a + (v === 0 ? 1 : 0), 0) / big.length;
      assert.ok(Math.abs(rate - 0.3) < 0.006, `drop rate ${rate}`);
      // murmur3's published vectors: the 32-bit hash of the empty input with seed s is fmix32(s)
      assert.deepEqual([0, 1, 0xffffffff].map(spec.fmix32), [0, 0x514e28b7, 0x81f16f39]);
    });

    it('elmanSeqForward / elmanSeqBackward: sigmoid, tanh, relu against float64', () => {
      // |h - h64| ≤ 2e-6·T·(1 + |h64|); |da - da64| ≤ 4e-6·T·(1 + |da64|) (T steps of rounding)
      let n = 0;
      for (const [T, B, H] of cases([[1, 1, 1], [3, 5, 17], [5, 3, 67], [2, 17, 5], [4, 20, 200], [3, 30, 33], [2, 1, 129]], 17)) {
        for (const act of ['sigmoid', 'tanh', 'relu'] as Activation[]) {
          const rng = new Rng(T * 1000 + B * 10 + H + n);
          const Hs0 = rand(rng, (T + 1) * B * H);
          const W = rand(rng, H * H, -1 / Math.sqrt(H), 1 / Math.sqrt(H));
          const want = spec.elmanSeqForward(Hs0, W, T, B, H, act);
          const own = n % 2 === 0;
          const Hs = f32(k, Hs0, n % 3, own);
          k.elmanSeqForward(Hs, f32(k, W, 1, !own), T, B, H, act);
          const what = `T=${T} B=${B} H=${H} ${act}`;
          expectClose(`elmanSeqForward ${what}`, Hs, want, (i) => 2e-6 * T * (1 + Math.abs(want[i])));
          const dA0 = rand(rng, T * B * H);
          const hs = Float64Array.from(Hs);
          const dWant = spec.elmanSeqBackward(dA0, hs, W, T, B, H, act);
          const dA = f32(k, dA0, 2, !own);
          k.elmanSeqBackward(dA, f32(k, hs, 0, own), f32(k, W, 1, own), T, B, H, act);
          expectClose(`elmanSeqBackward ${what}`, dA, dWant, (i) => 4e-6 * T * (1 + Math.abs(dWant[i])));
          n++;
        }
      }
    });

    it('classWordsLoss / classWordsBackward: log-probs, dlogits, dHn, dU, db2 (one-word classes, max-ent scores)', () => {
      // lp: 1e-5·(1 + |lp64|); dZ: 1e-5·scale; dHn, dU, db2: 1e-5 of the magnitude Σ|terms| (+ 1e-7)
      let n = 0;
      for (const [C, N, H, maxS] of cases([[1, 1, 1, 3], [3, 5, 3, 5], [5, 17, 17, 7], [7, 67, 67, 40], [13, 140, 200, 130], [2, 30, 5, 2]], 30)) {
        for (const withDirect of [false, true]) {
          const rng = new Rng(C * 100 + N + H + (withDirect ? 7 : 0));
          const { plan, V } = randomPlan(rng, C, N, maxS);
          const { zStart } = planViews(plan);
          const own = n % 2 === 0;
          const Hn = rand(rng, N * H);
          const U = rand(rng, V * H);
          const b2 = rand(rng, V);
          const S = 97;
          const O = 3;
          const table = rand(rng, S);
          const keys = randomKeys(rng, N, O, S);
          const dk: DirectArgs | undefined = withDirect ? { table: f32(k, table, 0, true), keys, O } : undefined;
          const scale = 1 / N;
          const want = spec.classWordsLoss(Hn, U, b2, C, N, plan.data, H, scale, withDirect ? { table, keys, O } : undefined);
          const [lp64, Z64] = [want.lp, want.dZ];
          const Z = f32(k, new Float64Array(zStart[C]), n % 3, own);
          const lp = new Float64Array(N);
          const kplan = { ...plan, data: ints(k, plan.data, own) };
          const Hk = f32(k, Hn, 1, own);
          const Uk = f32(k, U, 2, !own);
          const b2k = f32(k, b2, 0, own);
          k.classWordsLoss(lp, Z, Hk, Uk, b2k, kplan, H, true, scale, dk);
          const what = `C=${C} N=${N} H=${H}${withDirect ? ' direct' : ''}`;
          expectClose(`classWordsLoss lp ${what}`, lp, lp64, (i) => 1e-5 * (1 + Math.abs(lp64[i])));
          expectClose(`classWordsLoss dZ ${what}`, Z, Z64, () => 1e-5 * scale);
          // without grad: the same log-probs, and Z holds the scores (|z| ≤ H + 1 + O: 1e-6 of that)
          const Zs = f32(k, new Float64Array(zStart[C]), 1, !own);
          const lpNoGrad = new Float64Array(N);
          k.classWordsLoss(lpNoGrad, Zs, Hk, Uk, b2k, kplan, H, false, scale, dk);
          expectClose(`classWordsLoss (no grad) lp ${what}`, lpNoGrad, lp64, (i) => 1e-5 * (1 + Math.abs(lp64[i])));
          expectClose(`classWordsLoss (no grad) scores ${what}`, Zs, want.logits, () => 1e-6 * (H + 1 + O));
          // backward from the float32 dZ on both sides; magnitudes from |dZ|, |U|, |Hn|
          const dZ = Float64Array.from(Z);
          const dHn0 = rand(rng, N * H);
          const dU0 = rand(rng, V * H);
          const db0 = rand(rng, V);
          const { dHn: dHn64, dU: dU64, db2: db64 } = spec.classWordsBackward(dHn0, dU0, db0, dZ, Hn, U, C, N, plan.data, H);
          const { dHn: mH, dU: mU, db2: mb } = spec.magnitude((a, b, c, d, e, f) => spec.classWordsBackward(a, b, c, d, e, f, C, N, plan.data, H), [dHn0, dU0, db0, dZ, Hn, U]);
          const dHn = f32(k, dHn0, 1, !own);
          const dU = f32(k, dU0, 0, own);
          const db = f32(k, db0, 2, own);
          k.classWordsBackward(dHn, dU, db, f32(k, dZ, 1, own), Hk, Uk, kplan, H);
          expectClose(`classWordsBackward dHn ${what}`, dHn, dHn64, (i) => 1e-5 * mH[i] + 1e-7);
          expectClose(`classWordsBackward dU ${what}`, dU, dU64, (i) => 1e-5 * mU[i] + 1e-7);
          expectClose(`classWordsBackward db2 ${what}`, db, db64, (i) => 1e-5 * mb[i] + 1e-7);
          n++;
        }
      }
    });

    it('hsLoss / hsBackward: log-probs, node gradients, dHn, dWn, dbn (max-ent scores)', () => {
      // lp: 1e-5·(1 + |lp64|); G: 1e-6·scale·(1 + path); dHn, dWn, dbn: 1e-5 of Σ|terms| (+ 1e-7)
      let n = 0;
      for (const [V, N, H] of cases([[2, 1, 1], [3, 5, 3], [5, 17, 17], [17, 67, 67], [67, 140, 200], [300, 33, 5]], 300).filter(([, N]) => !refOnly || N <= 33)) {
        for (const withDirect of [false, true]) {
          const rng = new Rng(V * 31 + N + H + (withDirect ? 5 : 0));
          const counts = Array.from({ length: V }, (_, w) => Math.floor(200 / (w + 1)) + rng.int(3));
          const tree: HsTree = treePaths(buildHuffmanTree(counts), V);
          const targets = Int32Array.from({ length: N }, () => rng.int(V));
          const batch = hsBatchPlan(tree, targets, N, new Int32Array(V - 1));
          const plan = spec.hsBatchPlan(V, tree.data, targets, N);
          assert.deepEqual([...batch.rowOff], plan.rowOff, 'hsBatchPlan rowOff');
          assert.deepEqual([...batch.nodeList], plan.nodeList, 'hsBatchPlan node list');
          const E = batch.rowOff[N];
          const own = n % 2 === 0;
          const Hn = rand(rng, N * H);
          const Wn = rand(rng, (V - 1) * H);
          const bn = rand(rng, V - 1);
          const S = 61;
          const O = 2;
          const table = rand(rng, S);
          const keys = randomKeys(rng, N, O, S);
          const scale = 1 / N;
          const { lp: lp64, G: G64 } = spec.hsLoss(Hn, Wn, bn, V, tree.data, targets, N, H, scale, withDirect ? { table, keys, O } : undefined);
          const G = f32(k, new Float64Array(E), n % 3, own);
          const lp = new Float64Array(N);
          const ktree = { V, data: ints(k, tree.data, own) };
          const kbatch = { targets: ints(k, batch.targets, own), rowOff: ints(k, batch.rowOff, !own), nodeList: ints(k, batch.nodeList, own) };
          const Hk = f32(k, Hn, 1, own);
          const Wk = f32(k, Wn, 0, !own);
          const bk = f32(k, bn, 2, own);
          const dk = withDirect ? { table: f32(k, table, 0, true), keys, O } : undefined;
          k.hsLoss(lp, G, Hk, Wk, bk, ktree, kbatch, N, H, true, scale, dk);
          const what = `V=${V} N=${N} H=${H}${withDirect ? ' direct' : ''}`;
          expectClose(`hsLoss lp ${what}`, lp, lp64, (i) => 1e-5 * (1 + Math.abs(lp64[i])));
          expectClose(`hsLoss G ${what}`, G, G64, () => 2e-6 * scale * (1 + H));
          // without grad: the same log-probs, G untouched
          const Gn = f32(k, new Float64Array(E).fill(0.5), 0, true); // in kernel memory: a plain array is staged and copied back
          const lpNoGrad = new Float64Array(N);
          k.hsLoss(lpNoGrad, Gn, Hk, Wk, bk, ktree, kbatch, N, H, false, scale, dk);
          expectClose(`hsLoss (no grad) lp ${what}`, lpNoGrad, lp64, (i) => 1e-5 * (1 + Math.abs(lp64[i])));
          assert.ok(Gn.every((g) => g === 0.5), `hsLoss (no grad) ${what}: G written`);
          const Gs = Float64Array.from(G);
          const dWn0 = rand(rng, (V - 1) * H);
          const dbn0 = rand(rng, V - 1);
          const { dHn: dHn64, dWn: dWn64, dbn: dbn64 } = spec.hsBackward(dWn0, dbn0, Gs, Hn, Wn, V, tree.data, targets, N, H);
          const { dHn: mH, dWn: mW, dbn: mb } = spec.magnitude((a, b, c, d, e) => spec.hsBackward(a, b, c, d, e, V, tree.data, targets, N, H), [dWn0, dbn0, Gs, Hn, Wn]);
          const dHn = f32(k, rand(rng, N * H), 1, !own); // overwritten
          const dWn = f32(k, dWn0, 0, own);
          const dbn = f32(k, dbn0, 2, !own);
          k.hsBackward(dHn, dWn, dbn, f32(k, Gs, 1, own), Hk, Wk, ktree, kbatch, N, H);
          expectClose(`hsBackward dHn ${what}`, dHn, dHn64, (i) => 1e-5 * mH[i] + 1e-7);
          expectClose(`hsBackward dWn ${what}`, dWn, dWn64, (i) => 1e-5 * mW[i] + 1e-7);
          expectClose(`hsBackward dbn ${what}`, dbn, dbn64, (i) => 1e-5 * mb[i] + 1e-7);
          n++;
        }
      }
    });

    it('zero, sumSquaresRows, rowsOp (scale, zero, sgd, adagrad): the listed rows only', () => {
      // sumSquaresRows: 1e-12 relative (squares exact in f64); rowsOp: 1e-6·(|w| + |Δw|); other rows untouched (exactly)
      for (const [R, width, count] of cases([[1, 1, 1], [5, 3, 2], [17, 5, 17], [67, 17, 30], [400, 200, 333], [9, 67, 0]])) {
        const rng = new Rng(R * 13 + width);
        const rowsList = Array.from({ length: R }, (_, i) => i).sort(() => rng.next() - 0.5).slice(0, count);
        for (const own of [true, false]) {
          const rows = ints(k, rowsList, own);
          const x0 = rand(rng, R * width);
          const want = spec.sumSquaresRows(x0, width, rowsList, count);
          const got = k.sumSquaresRows(f32(k, x0, 1, own), width, rows, count);
          expectCloseScalar(`sumSquaresRows R=${R} width=${width} count=${count}`, got, want, 1e-12 * want + 1e-300);
          const g0 = rand(rng, R * width);
          const s0 = rand(rng, R * width, 0, 0.5);
          for (const op of ['scale', 'zero', 'sgd', 'adagrad'] as const) {
            const { w: w64, s: s64 } = spec.rowsOp(op, x0, g0, s0, 0.3, 1e-8, width, rowsList, count);
            const [w, sk] = [f32(k, x0, 2, own), f32(k, s0, 0, !own)];
            k.rowsOp(op, w, f32(k, g0, 1, own), sk, 0.3, 1e-8, width, rows, count);
            const what = `rowsOp ${op} R=${R} width=${width} count=${count}`;
            expectClose(`${what} w`, w, w64, (i) => (rowsList.includes(Math.floor(i / width)) ? 1e-6 * (Math.abs(w64[i]) + Math.abs(w64[i] - x0[i])) + 1e-30 : 0));
            expectClose(`${what} s`, sk, s64, (i) => 1e-6 * Math.abs(s64[i]) + 1e-30);
          }
        }
        const z = f32(k, rand(rng, R * width), 0, true);
        k.zero(z, R * width - 1);
        assert.ok(z.subarray(0, R * width - 1).every((v) => v === 0) && z[R * width - 1] !== 0, 'zero clears n elements exactly');
      }
    });

    it('sumSquaresRows and rowsOp read rows[0..count) only; adagrad rows at g = eps; mul writes n elements only', () => {
      // the row list holds a valid row past count (as a reused, longer list does): it must not count
      const width = 3;
      const x0 = Array.from({ length: 4 * width }, (_, i) => 0.5 + i / 8);
      for (const own of [true, false]) {
        const rows = ints(k, [2, 0, 3], own);
        const got = k.sumSquaresRows(f32(k, x0, 0, own), width, rows, 2);
        const want = spec.sumSquaresRows(x0, width, [2, 0], 2);
        expectCloseScalar('sumSquaresRows, rows past count', got, want, 1e-12 * want);
        for (const op of ['scale', 'zero', 'sgd', 'adagrad'] as const) {
          const w = f32(k, x0, 0, own);
          k.rowsOp(op, w, f32(k, x0, 1, own), f32(k, new Array(x0.length).fill(0.25), 2, own), 0.3, 1e-8, width, rows, 2);
          for (const r of [1, 3]) {
            for (let i = r * width; i < (r + 1) * width; i++) assert.equal(w[i], Math.fround(x0[i]), `rowsOp ${op}: row ${r} is not listed before count`);
          }
        }
        // s = 0 and g = eps: s' = eps², so the step is a·g / (eps + eps) = a/2 exactly in real numbers
        const eps = 1e-3;
        const w = f32(k, [1], 0, own);
        k.rowsOp('adagrad', w, f32(k, [eps], 0, own), f32(k, [0], 0, own), 0.3, eps, 1, ints(k, [0], own), 1);
        assert.ok(Math.abs(w[0] - 0.85) < 1e-6, `adagrad row at g = eps: w = ${w[0]}, want 0.85`);
      }
      // mul: arrays one longer, with finite values after n, and a sentinel in y that must stay
      for (const n of [1, 5, 67]) {
        const x = Array.from({ length: n + 1 }, (_, i) => 1 + i);
        const m = Array.from({ length: n + 1 }, (_, i) => 2 - i / 100);
        const y = f32(k, new Array(n + 1).fill(7.25), 0, true);
        k.mul(y, f32(k, x, 0, true), f32(k, m, 0, false), n);
        assert.equal(y[n], 7.25, `mul n=${n} wrote element n`);
        sameBits(`mul n=${n}, longer arrays`, y.subarray(0, n), Float32Array.from(x.slice(0, n), (v, i) => Math.fround(Math.fround(v) * Math.fround(m[i]))));
      }
    });

    it('directAdd, directGrad*, sparseSumSquares, sparseUpdate (sgd, adam, adagrad): touched entries only, in first-touch order', () => {
      // scores and gradients: 1e-6 of Σ|terms|; updates: 1e-6·(|w| + |Δw|); the touched lists equal exactly
      for (const [R, n, S, O] of cases([[1, 1, 1, 1], [3, 5, 7, 2], [5, 17, 13, 3], [17, 67, 50, 4], [67, 129, 1000, 3]])) {
        const rng = new Rng(R * 7 + n * 3 + S);
        const table = rand(rng, S);
        const keys = randomKeys(rng, R, O, S);
        const ld = n + 2;
        const Z0 = rand(rng, R * ld);
        const want = spec.directAdd(Z0, ld, { table, keys, O }, R, n);
        const mag = spec.magnitude((z, t) => spec.directAdd(z, ld, { table: t, keys, O }, R, n), [Z0, table]);
        const Z = f32(k, Z0, 1, true);
        k.directAdd(Z, ld, { table: f32(k, table, 0, true), keys, O }, R, n);
        const what = `R=${R} n=${n} S=${S} O=${O}`;
        expectClose(`directAdd ${what}`, Z, want, (i) => 1e-6 * mag[i] + 1e-30);
        // gradients into the sparse table, then the update
        const newSg = (own: boolean, g0: Float64Array): SparseGrad => {
          const g = f32(k, g0, 0, own);
          const flags = own ? new Uint8Array(k.alloc(Math.ceil(S / 4) + 1).buffer, k.alloc(Math.ceil(S / 4) + 1).byteOffset, S) : new Uint8Array(S);
          return { g, flags, list: ints(k, new Array(S + 1).fill(0), own) };
        };
        const sg64 = sparse(spec.directGrad(S, Z0, ld, keys, O, R, n), S);
        for (const own of [true, false]) {
          const sg = newSg(own, new Float64Array(S));
          k.directGrad(sg, f32(k, Z0, 2, own), ld, keys, O, R, n);
          sameBits(`directGrad list ${what}`, sg.list, sg64.list);
          sameBits(`directGrad flags ${what}`, sg.flags, sg64.flags);
          const gm = new Float64Array(S);
          for (let r = 0; r < R; r++) for (let a = 0; a < O; a++) if (keys[r * O + a] !== ABSENT) for (let j = 0; j < n; j++) gm[(keys[r * O + a] + j) % S] += Math.abs(Z0[r * ld + j]);
          expectClose(`directGrad g ${what}`, sg.g, sg64.g, (i) => 1e-6 * gm[i] + 1e-30);
          // Σ g² of the float32 gradient, in float64
          const ss = [...sg64.list.subarray(1, 1 + sg64.list[0])].reduce((a, i) => a + sg.g[i] ** 2, 0);
          expectCloseScalar(`sparseSumSquares ${what}`, k.sparseSumSquares(sg), ss, 1e-12 * ss + 1e-300);
          for (const kind of ['sgd', 'adam', 'adagrad'] as const) {
            const st: SparseStep = { kind, gs: 0.75, lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, c1: 1 - 0.9 ** 3, c2: 1 - 0.999 ** 3 };
            const w0 = rand(rng, S);
            const m0 = rand(rng, S, 0, 0.1);
            const v0 = rand(rng, S, 0, 0.01);
            const { w: w64, m: um, v: uv } = spec.sparseUpdate(sg.g, [...sg64.list.subarray(1, 1 + sg64.list[0])], w0, m0, v0, st);
            // sgd leaves m and v alone; adagrad keeps its sum of squares in m and leaves v alone
            const [m64, v64] = [kind === 'sgd' ? m0 : um, kind === 'adam' ? uv : v0];
            const sk = newSg(own, Float64Array.from(sg.g));
            sk.flags.set(sg.flags);
            sk.list.set(sg.list);
            const [wk, mk, vk] = [f32(k, w0, 0, own), f32(k, m0, 1, own), f32(k, v0, 2, own)];
            k.sparseUpdate(sk, wk, kind === 'sgd' ? null : mk, kind === 'adam' ? vk : null, st);
            expectClose(`sparseUpdate ${kind} w ${what}`, wk, w64, (i) => 1e-6 * (Math.abs(w64[i]) + Math.abs(w64[i] - w0[i])) + 1e-30);
            expectClose(`sparseUpdate ${kind} m ${what}`, mk, m64, (i) => 1e-6 * (Math.abs(m64[i]) + Math.abs(m0[i])) + 1e-30);
            expectClose(`sparseUpdate ${kind} v ${what}`, vk, v64, (i) => 1e-6 * (Math.abs(v64[i]) + Math.abs(v0[i])) + 1e-30);
            assert.equal(sk.list[0], 0, 'the list is emptied');
            assert.ok(sk.flags.every((f) => f === 0) && sk.g.every((g) => g === 0), 'flags and gradient cleared');
          }
        }
      }
      // the class-words and hierarchical-softmax variants against their reference
      const rng = new Rng(5);
      const { plan } = randomPlan(rng, 6, 40, 9);
      const { zStart } = planViews(plan);
      const S = 37;
      const O = 3;
      const keys = randomKeys(rng, plan.N, O, S);
      const Z = rand(rng, zStart[plan.C]);
      const a64 = sparse(spec.directGradClassWords(S, Z, plan.C, plan.N, plan.data, keys, O), S);
      const flagsBuf = k.alloc(S);
      const ak: SparseGrad = { g: f32(k, new Float64Array(S), 0, true), flags: new Uint8Array(flagsBuf.buffer, flagsBuf.byteOffset, S), list: ints(k, new Array(S + 1).fill(0), true) };
      k.directGradClassWords(ak, f32(k, Z, 1, true), { ...plan, data: ints(k, plan.data, true) }, keys, O);
      sameBits('directGradClassWords list', ak.list, a64.list);
      expectClose('directGradClassWords g', ak.g, a64.g, (i) => 1e-6 * (1 + Math.abs(a64.g[i])) * 40);
      const V = 23;
      const tree = treePaths(buildHuffmanTree(Array.from({ length: V }, (_, w) => 30 - w)), V);
      const targets = Int32Array.from({ length: 30 }, () => rng.int(V));
      const batch = hsBatchPlan(tree, targets, 30, new Int32Array(V - 1));
      const G = rand(rng, batch.rowOff[30]);
      const hkeys = randomKeys(rng, 30, O, S);
      const h64 = sparse(spec.directGradHs(S, G, V, tree.data, targets, hkeys, O, 30), S);
      const hflags = k.alloc(S);
      const hk: SparseGrad = { g: f32(k, new Float64Array(S), 0, true), flags: new Uint8Array(hflags.buffer, hflags.byteOffset, S), list: ints(k, new Array(S + 1).fill(0), true) };
      k.directGradHs(hk, f32(k, G, 1, true), { V, data: ints(k, tree.data, true) }, batch, hkeys, O, 30);
      sameBits('directGradHs list', hk.list, h64.list);
      expectClose('directGradHs g', hk.g, h64.g, (i) => 1e-6 * (1 + Math.abs(h64.g[i])) * 40);
    });

    it('extent: each fused kernel writes only the elements its sizes name (arrays one longer, a sentinel after; ids and keys one row longer)', () => {
      // A kernel's arrays may be longer than its sizes say (grown scratch, rows of an arena): a
      // write one past the range would change the next tensor, and a row past N must not be read.
      // (f32's views end at the range, where such writes are dropped; here the arrays go on.)
      const rng = new Rng(4242);
      const X = 7.25;
      /** An output (sentinel X after it) or an input (-X after it). */
      const arr = (n: number, lo = -1, hi = 1, sentinel = X): Float32Array => {
        const a = k.alloc(n + 1);
        a.set(rand(rng, n, lo, hi));
        a[n] = sentinel;
        return a;
      };
      const inp = (n: number, lo = -1, hi = 1): Float32Array => arr(n, lo, hi, -X);
      const tail = (what: string, a: ArrayLike<number>, n: number): void => assert.equal(a[n], X, `${what}: wrote past its ${n} elements`);
      const f64 = (n: number): Float64Array => new Float64Array(n + 1).fill(X);
      const mask = arr(9);
      k.dropoutMask(mask, 9, 0.5, 3, 4);
      tail('dropoutMask', mask, 9);
      const [T, B, H] = [2, 2, 3];
      for (const act of ['sigmoid', 'tanh', 'relu'] as Activation[]) {
        const Hs = arr((T + 1) * B * H);
        k.elmanSeqForward(Hs, inp(H * H), T, B, H, act);
        tail(`elmanSeqForward ${act}`, Hs, (T + 1) * B * H);
        const dA = arr(T * B * H);
        k.elmanSeqBackward(dA, inp((T + 1) * B * H, 0, 1), inp(H * H), T, B, H, act);
        tail(`elmanSeqBackward ${act}`, dA, T * B * H);
      }
      // class words: class 0 = words 0, 1 (one row), class 1 = words 2, 3, 4 (two rows); Z [2 + 6]
      const plan: ClassPlan = { C: 2, N: 3, data: Int32Array.from([0, 1, 3, 0, 2, 5, 0, 2, 8, 1, 0, 2, 1, 0, 2]) };
      const [Hn, U, b2] = [inp(3 * H), inp(5 * H), inp(5)];
      const Z = arr(8);
      const lp = f64(3);
      k.classWordsLoss(lp, Z, Hn, U, b2, plan, H, true, 1 / 3);
      tail('classWordsLoss Z', Z, 8);
      tail('classWordsLoss lp', lp, 3);
      const [dHn, dU, db2] = [arr(3 * H), arr(5 * H), arr(5)];
      k.classWordsBackward(dHn, dU, db2, Z, Hn, U, plan, H);
      for (const [what, a, n] of [['dHn', dHn, 3 * H], ['dU', dU, 5 * H], ['db2', db2, 5]] as const) tail(`classWordsBackward ${what}`, a, n);
      // hierarchical softmax: targets, rowOff and keys name a row past N
      const V = 7;
      const tree = treePaths(buildHuffmanTree([9, 7, 5, 4, 3, 2, 1]), V);
      const N = 3;
      const targets = Int32Array.from([6, 0, 3, 5]);
      const plan4 = hsBatchPlan(tree, targets, N + 1, new Int32Array(V - 1)); // the row past N included
      const batch = { targets, rowOff: plan4.rowOff, nodeList: hsBatchPlan(tree, targets, N, new Int32Array(V - 1)).nodeList };
      const E = plan4.rowOff[N];
      const [hHn, Wn, bn] = [inp((N + 1) * H), inp((V - 1) * H), inp(V - 1)];
      const G = arr(E);
      const hlp = f64(N);
      k.hsLoss(hlp, G, hHn, Wn, bn, tree, batch, N, H, true, 1 / N);
      tail('hsLoss G', G, E);
      tail('hsLoss lp', hlp, N);
      const [hdH, dWn, dbn] = [arr(N * H), arr((V - 1) * H), arr(V - 1)];
      const dWn0 = Float64Array.from(dWn);
      const dbn0 = Float64Array.from(dbn);
      k.hsBackward(hdH, dWn, dbn, G, hHn, Wn, tree, batch, N, H);
      tail('hsBackward dHn', hdH, N * H);
      const b64 = spec.hsBackward(dWn0.subarray(0, (V - 1) * H), dbn0.subarray(0, V - 1), Float64Array.from(G.subarray(0, E)), Float64Array.from(hHn.subarray(0, N * H)), Float64Array.from(Wn.subarray(0, (V - 1) * H)), V, tree.data, targets, N, H);
      expectClose('hsBackward dWn (rows < N only)', dWn, b64.dWn, () => 1e-5);
      expectClose('hsBackward dbn (rows < N only)', dbn, b64.dbn, () => 1e-5);
      // max-ent: keys of R + 1 rows, the last one valid; only rows < R count
      const [R, n, S, O, ld] = [3, 4, 11, 2, 5];
      const keys = Uint32Array.from({ length: (R + 1) * O }, () => rng.int(S));
      const table = f32(k, rand(rng, S), 0, true); // its length is S (the modulus)
      const Zd = arr(R * ld);
      const Zd0 = Float64Array.from(Zd.subarray(0, R * ld));
      k.directAdd(Zd, ld, { table, keys, O }, R, n);
      tail('directAdd', Zd, R * ld);
      expectClose('directAdd (rows < R only)', Zd, spec.directAdd(Zd0, ld, { table: Float64Array.from(table.subarray(0, S)), keys, O }, R, n), () => 1e-5);
      const newSg = (): SparseGrad => {
        const flags = k.alloc(S);
        return { g: f32(k, new Float64Array(S), 0, true), flags: new Uint8Array(flags.buffer, flags.byteOffset, S), list: ints(k, new Array(S + 1).fill(0), true) };
      };
      const dZ = inp((R + 1) * ld);
      const sg = newSg();
      k.directGrad(sg, dZ, ld, keys, O, R, n);
      const sg64 = sparse(spec.directGrad(S, Float64Array.from(dZ), ld, keys, O, R, n), S);
      sameBits('directGrad list (rows < R only)', sg.list, sg64.list);
      expectClose('directGrad g (rows < R only)', sg.g, sg64.g, () => 1e-5);
      const hkeys = Uint32Array.from({ length: (N + 1) * O }, () => rng.int(S));
      const Gh = inp(plan4.rowOff[N + 1]);
      const hs = newSg();
      k.directGradHs(hs, Gh, tree, batch, hkeys, O, N);
      const hs64 = sparse(spec.directGradHs(S, Float64Array.from(Gh), V, tree.data, targets, hkeys, O, N), S);
      sameBits('directGradHs list (rows < N only)', hs.list, hs64.list);
      expectClose('directGradHs g (rows < N only)', hs.g, hs64.g, () => 1e-5);
    });

    it('edge cases by hand: p = 0 drops nothing (hash 0 included); class logits 1000 apart; sparse steps where √v is eps', () => {
      // keys 0, 0: element 0 hashes to 0, the threshold of p = 0 is 0, and u < 0 never holds
      const m = f32(k, new Float64Array(4), 0, true);
      k.dropoutMask(m, 4, 0, 0, 0);
      assert.deepEqual([...m], [1, 1, 1, 1]);
      // class 0 = words 0, 1 with logits [1000, 0]; class 1 = words 2, 3, 4 with [0, 1000, -1000]
      // (U = 0: the logits are the biases). Rows: word 0, word 3, word 2; scale 1.
      // log-probs 0, 0, -1000 (e^-1000 underflows); dZ = softmax - onehot: [0, 0], [0, 0, 0], [-1, 1, 0]
      const plan: ClassPlan = { C: 2, N: 3, data: Int32Array.from([0, 1, 3, 0, 2, 5, 0, 2, 8, 0, 1, 2, 0, 1, 0]) };
      const Z = f32(k, new Float64Array(8).fill(1e30), 0, true); // old contents: never read
      const lp = new Float64Array(3);
      k.classWordsLoss(lp, Z, f32(k, [1, 1, 1], 0, true), f32(k, new Float64Array(5), 0, true), f32(k, [1000, 0, 0, 1000, -1000], 0, true), plan, 1, true, 1);
      expectClose('classWordsLoss lp, logits 1000 apart', lp, [0, 0, -1000], () => 1e-6);
      expectClose('classWordsLoss dZ, logits 1000 apart', Z, [0, 0, 0, 0, 0, -1, 1, 0], () => 1e-6);
      // old contents of Z (1e30) must not enter the row max: the random plan's log-probs against float64
      const rng = new Rng(31);
      const { plan: rp, V } = randomPlan(rng, 4, 9, 5);
      const [Hn, U, b2] = [rand(rng, 9 * 3), rand(rng, V * 3), rand(rng, V)];
      const want = spec.classWordsLoss(Hn, U, b2, 4, 9, rp.data, 3, 1 / 9);
      const Zr = f32(k, new Float64Array(planViews(rp).zStart[4]).fill(1e30), 0, true);
      const lpr = new Float64Array(9);
      k.classWordsLoss(lpr, Zr, f32(k, Hn, 0, true), f32(k, U, 0, true), f32(k, b2, 0, true), rp, 3, true, 1 / 9);
      expectClose('classWordsLoss over old contents 1e30', lpr, want.lp, (i) => 1e-5 * (1 + Math.abs(want.lp[i])));
      // adam and adagrad at a gradient of 1e-8 (= eps): t = 1, m̂ = g, v̂ = g², so w -= lr·g/(|g| + eps) = lr/2
      for (const kind of ['adam', 'adagrad'] as const) {
        const g = f32(k, [0, 1e-8], 0, true);
        const sg: SparseGrad = { g, flags: Uint8Array.from([0, 1]), list: Int32Array.from([1, 1, 0]) };
        const w = f32(k, [1, 1], 0, true);
        const [mm, vv] = [f32(k, [0, 0], 0, true), f32(k, [0, 0], 0, true)];
        const gf = Math.fround(1e-8);
        k.sparseUpdate(sg, w, mm, kind === 'adam' ? vv : null, { kind, gs: 1, lr: 0.1, beta1: 0.9, beta2: 0.999, eps: gf, c1: 0.1, c2: 1 - 0.999 });
        expectClose(`sparseUpdate ${kind} at g = eps`, w, [1, Math.fround(1 - 0.05)], () => 1e-7);
      }
    });
  });
}

describe('hsBatchPlan: reused buffers', () => {
  it('grows its arrays only when too short, leaves the slots zero, ignores what an earlier batch left in the scratch', () => {
    const V = 23;
    const tree = treePaths(buildHuffmanTree(Array.from({ length: V }, (_, w) => 40 - w)), V);
    const rng = new Rng(12);
    let grows = 0;
    const buf: HsPlanBuffers = {
      slot: new Int32Array(V - 1), nodes: new Int32Array(V - 1), count: new Int32Array(V - 1),
      targets: new Int32Array(0), rowOff: new Int32Array(0), list: new Int32Array(0),
      grow: (n) => (grows++, new Int32Array(n)),
    };
    const plan = (targets: Int32Array, what: string): void => {
      const b = hsBatchPlan(tree, targets, targets.length, buf.slot, buf);
      const want = spec.hsBatchPlan(V, tree.data, targets, targets.length);
      assert.deepEqual([...b.rowOff], want.rowOff, `${what}: rowOff`);
      assert.deepEqual([...b.nodeList], want.nodeList, `${what}: node list`);
      assert.deepEqual([...b.targets], [...targets], `${what}: targets`);
      assert.ok(buf.slot.every((v) => v === 0), `${what}: slots left zero`);
      assert.equal(b.nodeList.buffer, buf.list.buffer, `${what}: the node list is a view of buf.list`);
    };
    const many = Int32Array.from({ length: 30 }, () => rng.int(V));
    plan(many, 'first batch');
    assert.equal(grows, 3, 'targets, rowOff and the list grown once each');
    plan(many, 'the same batch again'); // every array exactly as long as needed
    plan(Int32Array.from([V - 1, 0, 5]), 'a smaller batch');
    assert.equal(grows, 3, 'nothing grown while the arrays are long enough');
  });
});

/** A specification's sparse gradient in the kernels' layout: g [S], flags [S], list [S+1] = count, indices. */
function sparse(sg: spec.SparseSpec, S: number): SparseGrad {
  const flags = new Uint8Array(S);
  for (const i of sg.list) flags[i] = 1;
  const list = new Int32Array(S + 1);
  list.set([sg.list.length, ...sg.list]);
  return { g: sg.g, flags, list };
}

function expectCloseScalar(what: string, got: number, want: number, tol: number): void {
  assert.ok(Math.abs(got - want) <= tol, `${what}: got ${got}, want ${want}, |diff| ${Math.abs(got - want).toExponential(3)} > ${tol.toExponential(3)}`);
}

describe('fused kernels: 1 and 2 threads give bit-identical results', () => {
  const builds = [...wasmByBuild.entries()].filter(([, ks]) => ks[1] && ks[2]);
  it('elman, class words, hierarchical softmax, dropout', { skip: builds.length === 0 && 'needs 1- and 2-thread wasm kernels' }, () => {
    for (const [build, ks] of builds) {
      const run = (k: Kernels): Arr[] => {
        const rng = new Rng(77);
        const out: Arr[] = [];
        const [T, B, H] = [6, 23, 67];
        const Hs = f32(k, rand(rng, (T + 1) * B * H), 0, true);
        const W = f32(k, rand(rng, H * H, -0.2, 0.2), 0, true);
        k.elmanSeqForward(Hs, W, T, B, H, 'tanh');
        const dA = f32(k, rand(rng, T * B * H), 0, true);
        k.elmanSeqBackward(dA, Hs, W, T, B, H, 'tanh');
        out.push(Hs, dA);
        const { plan, V } = randomPlan(rng, 11, 300, 60);
        const { zStart } = planViews(plan);
        const Hn = f32(k, rand(rng, plan.N * H), 0, true);
        const U = f32(k, rand(rng, V * H), 0, true);
        const Z = k.alloc(zStart[plan.C]);
        const lp = new Float64Array(plan.N);
        k.classWordsLoss(lp, Z, Hn, U, f32(k, rand(rng, V), 0, true), plan, H, true, 1 / 300);
        const [dHn, dU, db] = [k.alloc(plan.N * H), k.alloc(V * H), k.alloc(V)];
        k.classWordsBackward(dHn, dU, db, Z, Hn, U, plan, H);
        out.push(Float64Array.from(lp), Z, dHn, dU, db);
        const HV = 150;
        const tree = treePaths(buildHuffmanTree(Array.from({ length: HV }, (_, w) => 1000 / (w + 1))), HV);
        const targets = Int32Array.from({ length: 300 }, () => rng.int(HV));
        const batch = hsBatchPlan(tree, targets, 300, new Int32Array(HV - 1));
        const Wn = f32(k, rand(rng, (HV - 1) * H), 0, true);
        const G = k.alloc(batch.rowOff[300]);
        const hlp = new Float64Array(300);
        k.hsLoss(hlp, G, Hn.subarray(0, 300 * H), Wn, f32(k, rand(rng, HV - 1), 0, true), tree, batch, 300, H, true, 1 / 300);
        const [hdH, hdW, hdb] = [k.alloc(300 * H), k.alloc((HV - 1) * H), k.alloc(HV - 1)];
        k.hsBackward(hdH, hdW, hdb, G, Hn.subarray(0, 300 * H), Wn, tree, batch, 300, H);
        out.push(Float64Array.from(hlp), G, hdH, hdW, hdb);
        const mask = k.alloc(200003);
        k.dropoutMask(mask, 200003, 0.4, 1, 2);
        out.push(mask);
        return out;
      };
      const a = run(ks[1]!);
      const b = run(ks[2]!);
      a.forEach((x, i) => sameBits(`${build} output ${i}`, x, b[i]));
    }
  });
});
