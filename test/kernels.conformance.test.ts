// One numeric suite for every kernel backend: the reference in float32, and the wasm backend
// (plain SIMD and relaxed-SIMD builds, 1 and 2 threads; with the OpenBLAS GEMM where the native
// addon is built) against the reference computed in
// float64 from the same float32 inputs. Sizes hit vector tails, tile edges, cache-block edges
// and the thread splits; inputs are seeded; arrays are taken both from the backend's own memory
// (kernels.alloc) and from plain Float32Arrays, at odd offsets. A backend that cannot load is
// skipped with the reason. Tolerances are stated per kernel, relative to the magnitude of the
// terms; a failure prints the largest violation.
// Legend: M, N, K matrix dims; R rows, C columns; n element count.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';

import type { Activation, Kernels } from '../src/kernels/kernels.js';
import { gemmRef, RefKernels } from '../src/kernels/ref.js';
import { createWasmKernels, type WasmKernels } from '../src/kernels/wasm/kernels.js';
import { nodeWasmPlatform as nodePlatform } from '../src/node/wasm-platform.js';
import { loadNativeGemm } from '../src/node/native.js';
import { createNodeKernels as createKernels } from '../src/node/platform.js';
import { Rng } from '../src/rng.js';

// ---- backends ---------------------------------------------------------------------------------

interface Backend {
  label: string;
  kernels?: Kernels;
  skip?: string;
}

const backends: Backend[] = [{ label: 'ref (float32)', kernels: new RefKernels() }];
/** Loaded wasm backends by build, for the thread-count comparison. */
const wasmByBuild = new Map<string, { 1?: WasmKernels; 2?: WasmKernels }>();
for (const relaxed of [false, true]) {
  for (const threads of [1, 2] as const) {
    const label = `wasm ${relaxed ? 'simd+relaxed (fma)' : 'simd'}, ${threads} thread${threads > 1 ? 's' : ''}`;
    try {
      const k = await createWasmKernels(nodePlatform, { threads, relaxed });
      backends.push({ label, kernels: k });
      const build = relaxed ? 'relaxed' : 'simd';
      wasmByBuild.set(build, { ...wasmByBuild.get(build), [threads]: k });
    } catch (err) {
      const reason = (err as Error).message;
      console.log(`# skipping backend "${label}": ${reason}`);
      backends.push({ label, skip: reason });
    }
  }
}

// The optional native GEMM (native/, `npm run build:native`): every GEMM goes to OpenBLAS.
try {
  const nativeGemm = loadNativeGemm(2);
  backends.push({ label: `wasm + OpenBLAS GEMM, 2 threads (${nativeGemm.info})`, kernels: await createWasmKernels(nodePlatform, { threads: 2, nativeGemm }) });
} catch (err) {
  const reason = (err as Error).message;
  console.log(`# skipping backend "wasm + OpenBLAS GEMM": ${reason}`);
  backends.push({ label: 'wasm + OpenBLAS GEMM', skip: reason });
}

after(() => {
  for (const b of backends) (b.kernels as { dispose?: () => void } | undefined)?.dispose?.();
});

// ---- helpers ----------------------------------------------------------------------------------

const SIZES = [1, 3, 5, 17, 67, 129];

function randArray(rng: Rng, n: number, lo = -1, hi = 1): Float64Array {
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.fround(rng.uniform(lo, hi));
  return a;
}

/**
 * A float32 copy of `src` for backend `k`: from k.alloc (in place for wasm) or a plain
 * Float32Array, starting at element offset `off` of a larger array (unaligned for off odd).
 */
function f32(k: Kernels, src: ArrayLike<number>, off: number, own: boolean): Float32Array {
  const base = own ? k.alloc(src.length + off + 3) : new Float32Array(src.length + off + 3);
  base.fill(Number.NaN); // anything a kernel reads past its range shows up
  const a = base.subarray(off, off + src.length);
  a.set(src);
  return a;
}

/**
 * Assert |got[i] - want[i]| ≤ tol[i] for all i < n; on failure report the worst ratio, where,
 * the values and the tolerance.
 */
function expectClose(what: string, got: ArrayLike<number>, want: ArrayLike<number>, tol: (i: number) => number, n = want.length): void {
  let worst = -1;
  let worstRatio = 0;
  let maxDiff = 0;
  for (let i = 0; i < n; i++) {
    const d = Math.abs(got[i] - want[i]);
    if (Number.isNaN(got[i]) !== Number.isNaN(want[i])) {
      worst = i;
      worstRatio = Infinity;
      break;
    }
    if (Number.isNaN(d)) continue;
    maxDiff = Math.max(maxDiff, d);
    const r = d / tol(i);
    if (r > worstRatio) {
      worstRatio = r;
      worst = i;
    }
  }
  if (worstRatio > 1) {
    assert.fail(
      `${what}: largest violation at [${worst}]: got ${got[worst]}, want ${want[worst]}, ` +
        `|diff| ${Math.abs(got[worst] - want[worst]).toExponential(3)} > tol ${tol(worst).toExponential(3)} ` +
        `(${worstRatio.toFixed(2)}× the tolerance; largest |diff| overall ${maxDiff.toExponential(3)})`,
    );
  }
}

function expectCloseScalar(what: string, got: number, want: number, tol: number): void {
  const d = Math.abs(got - want);
  assert.ok(d <= tol, `${what}: got ${got}, want ${want}, |diff| ${d.toExponential(3)} > tol ${tol.toExponential(3)}`);
}

function sameBits(what: string, a: Float32Array, b: Float32Array): void {
  assert.equal(a.length, b.length);
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) {
    if (ua[i] !== ub[i]) assert.fail(`${what}: first differing element [${i}]: ${a[i]} vs ${b[i]}`);
  }
}

/** Distance in units in the last place between two finite float32 values of the same sign. */
function ulps(a: number, b: number): number {
  const buf = new Float32Array([a, b]);
  const u = new Int32Array(buf.buffer);
  return Math.abs(u[0] - u[1]);
}

// ---- GEMM cases ---------------------------------------------------------------------------------

interface GemmCase {
  M: number;
  N: number;
  K: number;
}

/** All combinations of SIZES in each dim, plus cases past the cache blocks and thread splits. */
const GEMM_CASES: GemmCase[] = [];
for (const M of SIZES) for (const N of SIZES) for (const K of SIZES) GEMM_CASES.push({ M, N, K });
GEMM_CASES.push(
  { M: 150, N: 2061, K: 259 }, // past MC (144/120), NC (2048), KC (256); split by columns
  { M: 701, N: 13, K: 257 }, // split by rows; odd K past KC
  { M: 64, N: 64, K: 0 }, // empty sum: beta 0 clears, beta 1 keeps
  { M: 20, N: 803, K: 200 }, // the recurrent step: B read in place (small M), even K, edge panel
  { M: 24, N: 37, K: 258 }, // the largest M read in place; even K past KC
  { M: 2, N: 130, K: 64 },
  { M: 1, N: 10007, K: 203 }, // one row (GEMV), split across threads; tails past the 16-wide blocks
);

const LAYOUTS: [boolean, boolean][] = [[false, false], [true, false], [false, true], [true, true]];

/** Reference results in float64, shared by all backends. */
const gemmRefCache = new Map<string, { A: Float64Array; B: Float64Array; C0: Float64Array; want: Float64Array; mag: Float64Array }>();

function gemmReference(c: GemmCase, ta: boolean, tb: boolean, beta: 0 | 1) {
  const key = `${c.M}x${c.N}x${c.K}/${ta}/${tb}/${beta}`;
  let r = gemmRefCache.get(key);
  if (!r) {
    const rng = new Rng(c.M * 1_000_003 + c.N * 1009 + c.K * 7 + (ta ? 1 : 0) + (tb ? 2 : 0) + beta * 4);
    const A = randArray(rng, c.M * c.K);
    const B = randArray(rng, c.K * c.N);
    const C0 = randArray(rng, c.M * c.N);
    const want = new Float64Array(C0);
    gemmRef(want, A, B, c.M, c.N, c.K, ta, tb, beta);
    // mag[i,j] = Σ_k |a_ik b_kj| (+ |C0| when accumulating): the scale of the rounding error
    const mag = beta ? C0.map(Math.abs) : new Float64Array(c.M * c.N);
    gemmRef(mag, A.map(Math.abs), B.map(Math.abs), c.M, c.N, c.K, ta, tb, 1);
    r = { A, B, C0, want, mag };
    gemmRefCache.set(key, r);
  }
  return r;
}

// ---- the suite ----------------------------------------------------------------------------------

for (const backend of backends) {
  describe(`kernels conformance: ${backend.label}`, { skip: backend.skip }, () => {
    const k = backend.kernels!;

    it('gemm: 3 layouts (+ AᵀBᵀ) × beta 0/1 × sizes 1..129 and past the blocks, odd offsets', () => {
      // |C - C64| ≤ 1e-5 · (Σ_k |a_ik b_kj| + |beta·C0_ij|)
      let n = 0;
      for (const c of GEMM_CASES) {
        for (const [ta, tb] of LAYOUTS) {
          for (const beta of [0, 1] as const) {
            const r = gemmReference(c, ta, tb, beta);
            const own = n % 2 === 0;
            const A = f32(k, r.A, 1 + (n % 3), own);
            const B = f32(k, r.B, n % 5, !own);
            const C = f32(k, r.C0, 3, own);
            k.gemm(C, A, B, c.M, c.N, c.K, ta, tb, beta);
            expectClose(
              `gemm M=${c.M} N=${c.N} K=${c.K} transA=${ta} transB=${tb} beta=${beta}`,
              C, r.want, (i) => 1e-5 * r.mag[i] + 1e-30,
            );
            n++;
          }
        }
      }
    });

    it('softmaxXent: loss, log-probs and gradient; max subtraction; -Infinity logits', () => {
      // per row |lp - lp64| ≤ 1e-6·(1 + |lp64|); loss: the sum of those; dlogits: ≤ 2e-6·scale
      let n = 0;
      for (const R of [1, 3, 5, 17, 67]) {
        for (const C of [1, 3, 5, 17, 67, 129, 1031]) {
          for (const grad of [false, true]) {
            const rng = new Rng(R * 7919 + C * 31 + (grad ? 1 : 0));
            const logits = randArray(rng, R * C, -10, 10);
            if (R > 2) for (let c = 0; c < C; c++) logits[C + c] = Math.fround(logits[C + c] + 80); // row 1: large logits
            const targets = new Int32Array(R);
            for (let r = 0; r < R; r++) targets[r] = rng.int(C);
            if (C > 1 && R > 3) logits[2 * C + ((targets[2] + 1) % C)] = -Infinity; // row 2: a masked logit
            const scale = 1 / R;
            const want = new Float64Array(logits);
            const lpWant = new Float64Array(R);
            const lossWant = new RefKernels().softmaxXent(want, targets, R, C, grad, scale, lpWant);
            const z = f32(k, logits, n % 4, n % 2 === 0);
            const lp = new Float64Array(R);
            const loss = k.softmaxXent(z, targets, R, C, grad, scale, lp);
            const what = `softmaxXent R=${R} C=${C} grad=${grad}`;
            expectClose(`${what} logProbs`, lp, lpWant, (i) => 1e-6 * (1 + Math.abs(lpWant[i])));
            let lossTol = 0;
            for (let r = 0; r < R; r++) lossTol += 1e-6 * (1 + Math.abs(lpWant[r]));
            expectCloseScalar(`${what} loss`, loss, lossWant, lossTol);
            if (grad) expectClose(`${what} dlogits`, z, want, () => 2e-6 * scale);
            else expectClose(`${what} logits unchanged`, z, logits, () => 0);
            n++;
          }
        }
      }
      // large enough to split rows across threads
      const R = 67;
      const C = 2053;
      const rng = new Rng(5);
      const logits = randArray(rng, R * C, -8, 8);
      const targets = Int32Array.from({ length: R }, () => rng.int(C));
      const want = new Float64Array(logits);
      const lossWant = new RefKernels().softmaxXent(want, targets, R, C, true, 0.5);
      const z = f32(k, logits, 1, true);
      const loss = k.softmaxXent(z, targets, R, C, true, 0.5);
      expectCloseScalar('softmaxXent 67×2053 loss', loss, lossWant, 1e-6 * R * (1 + lossWant / R));
      expectClose('softmaxXent 67×2053 dlogits', z, want, () => 2e-6 * 0.5);
    });

    it('softmaxXent: a NaN logit makes the loss NaN (the divergence guard relies on it)', () => {
      for (const C of [3, 17]) {
        const z = k.alloc(2 * C);
        z.fill(0.5);
        z[C + 1] = Number.NaN;
        const loss = k.softmaxXent(z, Int32Array.from([0, 0]), 2, C, true, 1);
        assert.ok(Number.isNaN(loss), `C=${C}: loss ${loss}`);
        assert.ok(z.subarray(0, C).every(Number.isFinite), `C=${C}: the other row stays finite`);
      }
    });

    it('softmaxXent rejects a target outside [0, C)', () => {
      const z = k.alloc(6);
      assert.throws(() => k.softmaxXent(z, Int32Array.from([0, 3]), 2, 3, false, 1), /target 3 at row 1/);
    });

    it('actForward / actBackward: sigmoid, tanh, relu, in place and out of place', () => {
      // forward: |y - y64| ≤ 5e-7·|y64| + 1e-30; backward: |dx - dx64| ≤ 4e-7·|dx64| + 1e-38
      const acts: Activation[] = ['sigmoid', 'tanh', 'relu'];
      let n = 0;
      for (const len of [1, 3, 5, 17, 67, 129, 1031, 70001]) {
        const rng = new Rng(len);
        const x = randArray(rng, len, -12, 12);
        const special = [0, -0, 1e-4, -1e-4, 0.6249, 0.6251, -0.7, 9, -9, 20, -20, 44, 87, -87, 100, -100, 1e-30];
        for (let i = 0; i < Math.min(len, special.length); i++) x[(i * 7919) % len] = special[i];
        for (const act of acts) {
          const y64 = new Float64Array(len);
          new RefKernels().actForward(y64, x, len, act);
          const inPlace = n % 2 === 1;
          const xs = f32(k, x, n % 3, n % 4 < 2);
          const ys = inPlace ? xs : f32(k, new Float64Array(len), 1, n % 4 >= 2);
          k.actForward(ys, xs, len, act);
          expectClose(`actForward ${act} n=${len}${inPlace ? ' in place' : ''}`, ys, y64, (i) => 5e-7 * Math.abs(y64[i]) + 1e-30);

          const dy = randArray(rng, len);
          const y = Float64Array.from(ys); // backward from the forward output
          const dx64 = new Float64Array(len);
          new RefKernels().actBackward(dx64, y, dy, len, act);
          const dys = f32(k, dy, 2, n % 2 === 0);
          const dxs = inPlace ? dys : f32(k, new Float64Array(len), 0, n % 2 === 1);
          k.actBackward(dxs, f32(k, y, 1, true), dys, len, act);
          expectClose(`actBackward ${act} n=${len}${inPlace ? ' in place' : ''}`, dxs, dx64, (i) => 4e-7 * Math.abs(dx64[i]) + 1e-38);
          n++;
        }
      }
    });

    it('addBias and sumRows', () => {
      // addBias: |Y - Y64| ≤ 6e-8·|Y64|; sumRows: |db - db64| ≤ 1e-6·(|db0| + Σ_r |dY[r,c]|)
      let n = 0;
      const shapes: [number, number][] = [];
      for (const R of SIZES) for (const C of SIZES) shapes.push([R, C]);
      shapes.push([67, 2053]); // split across threads
      for (const [R, C] of shapes) {
        const rng = new Rng(R * 131 + C);
        const Y = randArray(rng, R * C);
        const b = randArray(rng, C);
        const want = new Float64Array(Y);
        new RefKernels().addBias(want, b, R, C);
        const Ys = f32(k, Y, n % 3, n % 2 === 0);
        k.addBias(Ys, f32(k, b, 1, n % 2 === 1), R, C);
        expectClose(`addBias R=${R} C=${C}`, Ys, want, (i) => 6e-8 * Math.abs(want[i]) + 1e-38);

        const db = randArray(rng, C);
        const dbWant = new Float64Array(db);
        new RefKernels().sumRows(dbWant, Y, R, C);
        const mag = db.map(Math.abs);
        new RefKernels().sumRows(mag, Y.map(Math.abs), R, C);
        const dbs = f32(k, db, 2, n % 2 === 1);
        k.sumRows(dbs, f32(k, Y, 1, n % 2 === 0), R, C);
        expectClose(`sumRows R=${R} C=${C}`, dbs, dbWant, (i) => 1e-6 * mag[i]);
        n++;
      }
    });

    it('gatherRows and scatterAddRows (repeated ids, fixed order)', () => {
      let n = 0;
      for (const R of SIZES) {
        for (const C of SIZES) {
          const rows = 11;
          const rng = new Rng(R * 17 + C);
          const table = randArray(rng, rows * C);
          const ids = Int32Array.from({ length: R }, () => rng.int(rows));
          const out = f32(k, new Float64Array(R * C), n % 3, n % 2 === 0);
          k.gatherRows(out, f32(k, table, 1, n % 2 === 1), ids, R, C);
          const want = new Float64Array(R * C);
          new RefKernels().gatherRows(want, table, ids, R, C);
          expectClose(`gatherRows R=${R} C=${C}`, out, want, () => 0);

          // |dT - dT64| ≤ 1e-6·(|dT0| + Σ |dOut| added into the row)
          const dOut = randArray(rng, R * C);
          const dT = randArray(rng, rows * C);
          const dTWant = new Float64Array(dT);
          new RefKernels().scatterAddRows(dTWant, dOut, ids, R, C);
          const mag = dT.map(Math.abs);
          new RefKernels().scatterAddRows(mag, dOut.map(Math.abs), ids, R, C);
          const dTs = f32(k, dT, 1, n % 2 === 0);
          k.scatterAddRows(dTs, f32(k, dOut, 2, n % 2 === 1), ids, R, C);
          expectClose(`scatterAddRows R=${R} C=${C}`, dTs, dTWant, (i) => 1e-6 * mag[i]);
          n++;
        }
      }
      if (k.name !== 'ref') {
        const t = k.alloc(12);
        assert.throws(() => k.gatherRows(k.alloc(4), t, Int32Array.from([1, 3]), 2, 4), /id 3 at row 1/);
      }
    });

    it('sumSquares (float64 result), short and chunked/split lengths', () => {
      // |s - s64| ≤ 1e-12·s64 (squares are exact in float64; only the summation order differs)
      for (const len of [1, 3, 5, 17, 67, 129, 4095, 4097, 300001]) {
        const rng = new Rng(len * 3);
        const x = randArray(rng, len, -3, 3);
        const want = new RefKernels().sumSquares(x, len);
        const got = k.sumSquares(f32(k, x, len % 3, len % 2 === 0), len);
        expectCloseScalar(`sumSquares n=${len}`, got, want, 1e-12 * want);
      }
    });

    it('scale, sgdUpdate, adagradUpdate, adamUpdate', () => {
      // |w - w64| ≤ 1e-6·(|w64| + |Δw|) (a few float32 roundings of each term); state alike
      const ref = new RefKernels();
      let n = 0;
      for (const len of [1, 3, 5, 17, 67, 129, 1031, 200003]) {
        const rng = new Rng(len * 5 + 1);
        const own = n % 2 === 0;
        const off = n % 3;
        const w = randArray(rng, len);
        const g = randArray(rng, len, -0.1, 0.1);
        const tolW = (want: Float64Array, w0: Float64Array) => (i: number) => 1e-6 * (Math.abs(want[i]) + Math.abs(want[i] - w0[i])) + 1e-38;

        const sw = new Float64Array(w);
        ref.scale(sw, 0.37, len);
        const s32 = f32(k, w, off, own);
        k.scale(s32, 0.37, len);
        // two roundings: a to float32, then the product
        expectClose(`scale n=${len}`, s32, sw, (i) => 1.5e-7 * Math.abs(sw[i]) + 1e-38);

        const gw = new Float64Array(w);
        ref.sgdUpdate(gw, g, 0.1, len);
        const g32 = f32(k, w, off, own);
        k.sgdUpdate(g32, f32(k, g, 1, !own), 0.1, len);
        expectClose(`sgdUpdate n=${len}`, g32, gw, tolW(gw, w));

        const s0 = randArray(rng, len, 0, 0.5);
        const aw = new Float64Array(w);
        const as = new Float64Array(s0);
        ref.adagradUpdate(aw, as, g, 0.1, 1e-8, len);
        const aw32 = f32(k, w, off, own);
        const as32 = f32(k, s0, 2, !own);
        k.adagradUpdate(aw32, as32, f32(k, g, 0, own), 0.1, 1e-8, len);
        expectClose(`adagradUpdate n=${len} w`, aw32, aw, tolW(aw, w));
        expectClose(`adagradUpdate n=${len} s`, as32, as, (i) => 1e-6 * Math.abs(as[i]));

        const m0 = randArray(rng, len, -0.05, 0.05);
        const v0 = randArray(rng, len, 0, 0.01);
        for (const t of [1, 7]) {
          const mw = new Float64Array(w);
          const mm = new Float64Array(m0);
          const mv = new Float64Array(v0);
          ref.adamUpdate(mw, mm, mv, g, 1e-3, 0.9, 0.999, 1e-8, t, len);
          const mw32 = f32(k, w, off, own);
          const mm32 = f32(k, m0, 1, own);
          const mv32 = f32(k, v0, 0, !own);
          k.adamUpdate(mw32, mm32, mv32, f32(k, g, 2, own), 1e-3, 0.9, 0.999, 1e-8, t, len);
          expectClose(`adamUpdate n=${len} t=${t} w`, mw32, mw, tolW(mw, w));
          expectClose(`adamUpdate n=${len} t=${t} m`, mm32, mm, (i) => 1e-6 * (Math.abs(mm[i]) + Math.abs(m0[i])) + 1e-38);
          expectClose(`adamUpdate n=${len} t=${t} v`, mv32, mv, (i) => 1e-6 * (Math.abs(mv[i]) + Math.abs(v0[i])) + 1e-38);
        }
        n++;
      }
    });

    it('transpose: exact, sizes 1..129 and odd offsets', () => {
      let n = 0;
      for (const R of SIZES) {
        for (const C of SIZES) {
          const x = randArray(new Rng(R * 7 + C), R * C);
          const want = new Float64Array(R * C);
          new RefKernels().transpose(want, x, R, C);
          const out = f32(k, new Float64Array(R * C), n % 3, n % 2 === 0);
          k.transpose(out, f32(k, x, 1 + (n % 2), n % 2 === 1), R, C);
          expectClose(`transpose R=${R} C=${C}`, out, want, () => 1e-45);
          n++;
        }
      }
    });

    it('lstmForward / lstmBackward: gates, cell and their gradients against float64', () => {
      // Forward: each output within 1e-6·(1 + |want|) (all are O(1): gates in [-1, 1], |c| ≤ |cPrev| + 1).
      // Backward: dJ/da within 2e-6 of the magnitude of its product of terms, dc likewise.
      let n = 0;
      for (const [B, H] of [[1, 1], [1, 3], [3, 5], [2, 17], [20, 67], [5, 200]]) {
        const rng = new Rng(B * 1000 + H);
        const a = randArray(rng, B * 4 * H, -4, 4);
        const cPrev = randArray(rng, B * H, -2, 2);
        const ref = new RefKernels();
        const G64 = new Float64Array(a);
        const c64 = new Float64Array(B * H);
        const tc64 = new Float64Array(B * H);
        const h64 = new Float64Array(B * H);
        ref.lstmForward(G64, cPrev, c64, tc64, h64, B, H);
        const own = n % 2 === 0;
        const G = f32(k, a, n % 3, own);
        const cp = f32(k, cPrev, 1, !own);
        const c = f32(k, new Float64Array(B * H), 2, own);
        const tc = f32(k, new Float64Array(B * H), 0, own);
        const h = f32(k, new Float64Array(B * H), 3, !own);
        k.lstmForward(G, cp, c, tc, h, B, H);
        const fwdTol = (w: Float64Array) => (i: number) => 1e-6 * (1 + Math.abs(w[i]));
        expectClose(`lstmForward gates B=${B} H=${H}`, G, G64, fwdTol(G64));
        expectClose(`lstmForward c B=${B} H=${H}`, c, c64, fwdTol(c64));
        expectClose(`lstmForward tanh(c) B=${B} H=${H}`, tc, tc64, fwdTol(tc64));
        expectClose(`lstmForward h B=${B} H=${H}`, h, h64, fwdTol(h64));

        // backward from float32 activations, the same inputs on both sides
        const Gs = Float64Array.from(G);
        const tcs = Float64Array.from(tc);
        const dh = randArray(rng, B * H);
        const dc0 = randArray(rng, B * H);
        const dG64 = new Float64Array(B * 4 * H);
        const dc64 = new Float64Array(dc0);
        ref.lstmBackward(dG64, Gs, cPrev, tcs, dh, dc64, B, H);
        const mag = new Float64Array(B * 4 * H); // |terms| of each dJ/da
        const magC = new Float64Array(B * H);
        for (let b = 0; b < B; b++) {
          for (let j = 0; j < H; j++) {
            const r = b * 4 * H;
            const s = b * H + j;
            const [i, f, g, o] = [Gs[r + j], Gs[r + H + j], Gs[r + 2 * H + j], Gs[r + 3 * H + j]];
            const md = Math.abs(dc0[s]) + Math.abs(dh[s] * o * (1 - tcs[s] * tcs[s]));
            mag[r + j] = md * Math.abs(g) * i * (1 - i);
            mag[r + H + j] = md * Math.abs(cPrev[s]) * f * (1 - f);
            mag[r + 2 * H + j] = md * i * (1 - g * g);
            mag[r + 3 * H + j] = Math.abs(dh[s] * tcs[s]) * o * (1 - o);
            magC[s] = md * f;
          }
        }
        const dG = f32(k, new Float64Array(B * 4 * H), 1, own);
        const dc = f32(k, dc0, 2, !own);
        k.lstmBackward(dG, f32(k, Gs, 0, own), f32(k, cPrev, 1, own), f32(k, tcs, 2, !own), f32(k, dh, 3, own), dc, B, H);
        expectClose(`lstmBackward dG B=${B} H=${H}`, dG, dG64, (i) => 2e-6 * mag[i] + 1e-38);
        expectClose(`lstmBackward dc B=${B} H=${H}`, dc, dc64, (i) => 2e-6 * magC[i] + 1e-38);
        n++;
      }
    });

    it('gruForward / gruBackward: gates, state and their gradients against float64', () => {
      // Forward: within 1e-6·(1 + |want|) (gates in [-1, 1], |h| ≤ max(|n|, |hPrev|)).
      // Backward: each dJ/da within 2e-6 of the magnitude of its product of terms; dhPrev += dh⊙z likewise.
      let n = 0;
      for (const [B, H] of [[1, 1], [1, 3], [3, 5], [2, 17], [20, 67], [5, 200]]) {
        const rng = new Rng(B * 777 + H);
        const gi = randArray(rng, B * 3 * H, -3, 3);
        const gh = randArray(rng, B * 3 * H, -3, 3);
        const hPrev = randArray(rng, B * H);
        const ref = new RefKernels();
        const Gi64 = new Float64Array(gi);
        const h64 = new Float64Array(B * H);
        ref.gruForward(Gi64, gh, hPrev, h64, B, H);
        const own = n % 2 === 0;
        const Gi = f32(k, gi, n % 3, own);
        const h = f32(k, new Float64Array(B * H), 1, !own);
        k.gruForward(Gi, f32(k, gh, 2, !own), f32(k, hPrev, 0, own), h, B, H);
        const fwdTol = (w: Float64Array) => (i: number) => 1e-6 * (1 + Math.abs(w[i]));
        expectClose(`gruForward gates B=${B} H=${H}`, Gi, Gi64, fwdTol(Gi64));
        expectClose(`gruForward h B=${B} H=${H}`, h, h64, fwdTol(h64));

        const Gs = Float64Array.from(Gi); // backward from the float32 gates
        const dh = randArray(rng, B * H);
        const dp0 = randArray(rng, B * H);
        const dGi64 = new Float64Array(B * 3 * H);
        const dGh64 = new Float64Array(B * 3 * H);
        const dp64 = new Float64Array(dp0);
        ref.gruBackward(dGi64, dGh64, Gs, gh, hPrev, dh, dp64, B, H);
        const magI = new Float64Array(B * 3 * H);
        const magH = new Float64Array(B * 3 * H);
        const magP = new Float64Array(B * H);
        for (let b = 0; b < B; b++) {
          for (let j = 0; j < H; j++) {
            const q = b * 3 * H;
            const s = b * H + j;
            const [r, z, nn] = [Gs[q + j], Gs[q + H + j], Gs[q + 2 * H + j]];
            const an = Math.abs(dh[s]) * (1 - z) * (1 - nn * nn);
            magI[q + j] = magH[q + j] = an * Math.abs(gh[q + 2 * H + j]) * r * (1 - r);
            magI[q + H + j] = magH[q + H + j] = Math.abs(dh[s]) * (Math.abs(hPrev[s]) + Math.abs(nn)) * z * (1 - z);
            magI[q + 2 * H + j] = an;
            magH[q + 2 * H + j] = an * r;
            magP[s] = Math.abs(dp0[s]) + Math.abs(dh[s] * z);
          }
        }
        const dGi = f32(k, new Float64Array(B * 3 * H), 1, own);
        const dGh = f32(k, new Float64Array(B * 3 * H), 2, !own);
        const dp = f32(k, dp0, 3, own);
        k.gruBackward(dGi, dGh, f32(k, Gs, 0, own), f32(k, gh, 1, !own), f32(k, hPrev, 2, own), f32(k, dh, 0, !own), dp, B, H);
        expectClose(`gruBackward dGi B=${B} H=${H}`, dGi, dGi64, (i) => 2e-6 * magI[i] + 1e-38);
        expectClose(`gruBackward dGh B=${B} H=${H}`, dGh, dGh64, (i) => 2e-6 * magH[i] + 1e-38);
        expectClose(`gruBackward dhPrev B=${B} H=${H}`, dp, dp64, (i) => 2e-6 * magP[i] + 1e-38);
        // without dhPrev (the first step): the same gradients
        const dGi2 = f32(k, new Float64Array(B * 3 * H), 0, own);
        k.gruBackward(dGi2, f32(k, new Float64Array(B * 3 * H), 0, own), f32(k, Gs, 1, !own), f32(k, gh, 0, own), f32(k, hPrev, 1, !own), f32(k, dh, 2, own), null, B, H);
        expectClose(`gruBackward (no dhPrev) dGi B=${B} H=${H}`, dGi2, dGi64, (i) => 2e-6 * magI[i] + 1e-38);
        n++;
      }
    });

    it('Float64Array arguments give the reference result exactly (gradient checks)', () => {
      const rng = new Rng(99);
      const A = randArray(rng, 5 * 7);
      const B = randArray(rng, 7 * 3);
      const C = new Float64Array(15);
      const want = new Float64Array(15);
      k.gemm(C, A, B, 5, 3, 7, false, false, 0);
      gemmRef(want, A, B, 5, 3, 7, false, false, 0);
      assert.deepEqual(C, want);
      const z = randArray(rng, 12, -3, 3);
      const z2 = new Float64Array(z);
      const t = Int32Array.from([1, 0, 3]);
      assert.equal(k.softmaxXent(z, t, 3, 4, true, 0.5), new RefKernels().softmaxXent(z2, t, 3, 4, true, 0.5));
      assert.deepEqual(z, z2);
    });
  });
}

// ---- wasm-only checks ---------------------------------------------------------------------------

describe('wasm backend specifics', () => {
  const builds = [...wasmByBuild.entries()];

  it('vectorised exp is within 2 ulp of the correctly rounded e^x on [-87.3, 88]', { skip: builds.length === 0 && 'no wasm build loaded' }, () => {
    for (const [build, ks] of builds) {
      const k = (ks[1] ?? ks[2])!;
      const n = 1_000_003;
      const x = k.alloc(n);
      for (let i = 0; i < n; i++) x[i] = Math.fround(-87.3 + (175.3 * i) / (n - 1));
      const y = k.alloc(n);
      k.exp(y, x, n);
      let worst = 0;
      let at = 0;
      for (let i = 0; i < n; i++) {
        const u = ulps(y[i], Math.fround(Math.exp(x[i])));
        if (u > worst) {
          worst = u;
          at = i;
        }
      }
      assert.ok(worst <= 2, `${build}: exp(${x[at]}) = ${y[at]}, want ${Math.fround(Math.exp(x[at]))}: ${worst} ulp`);
      // beyond the range: 0 below, finite at the top clamp, NaN stays NaN
      const e = k.alloc(5);
      e.set([-1000, -Infinity, 1000, Number.NaN, 0]);
      k.exp(e, e, 5);
      assert.deepEqual(Array.from(e.subarray(0, 2)), [0, 0]);
      assert.ok(Number.isFinite(e[2]) && e[2] > 1e38, `exp(1000) = ${e[2]}`);
      assert.ok(Number.isNaN(e[3]));
      assert.equal(e[4], 1);
    }
  });

  it('1 and 2 threads give bit-identical results', { skip: builds.every(([, ks]) => !ks[1] || !ks[2]) && 'needs 1- and 2-thread wasm kernels' }, () => {
    for (const [build, ks] of builds) {
      if (!ks[1] || !ks[2]) continue;
      const k1 = ks[1];
      const k2 = ks[2];
      const rng = new Rng(2024);
      /** Run `op` on fresh copies in each backend's memory and compare every output bit for bit. */
      const both = (what: string, inputs: Float64Array[], op: (k: Kernels, a: Float32Array[]) => number | void): void => {
        const a1 = inputs.map((x) => f32(k1, x, 1, true));
        const a2 = inputs.map((x) => f32(k2, x, 1, true));
        const r1 = op(k1, a1);
        const r2 = op(k2, a2);
        assert.ok(Object.is(r1, r2), `${build} ${what}: 1 thread ${r1}, 2 threads ${r2}`);
        for (let i = 0; i < a1.length; i++) sameBits(`${build} ${what} (array ${i})`, a1[i], a2[i]);
      };
      for (const [M, N, K] of [[150, 2061, 259], [701, 13, 257], [700, 40, 129], [20, 803, 200], [1, 10007, 203]]) {
        for (const [ta, tb] of LAYOUTS) {
          for (const beta of [0, 1] as const) {
            both(`gemm ${M}×${N}×${K} ${ta} ${tb} beta=${beta}`, [randArray(rng, M * N), randArray(rng, M * K), randArray(rng, K * N)],
              (k, [C, A, B]) => k.gemm(C, A, B, M, N, K, ta, tb, beta));
          }
        }
      }
      const R = 67;
      const C = 2053;
      const targets = Int32Array.from({ length: R }, () => rng.int(C));
      both('softmaxXent', [randArray(rng, R * C, -5, 5)], (k, [z]) => k.softmaxXent(z, targets, R, C, true, 1 / R));
      both('sumSquares', [randArray(rng, 300001)], (k, [x]) => k.sumSquares(x, 300001));
      both('sumRows', [randArray(rng, C), randArray(rng, R * C)], (k, [db, dY]) => k.sumRows(db, dY, R, C));
      both('addBias', [randArray(rng, R * C), randArray(rng, C)], (k, [Y, b]) => k.addBias(Y, b, R, C));
      for (const act of ['sigmoid', 'tanh', 'relu'] as const) {
        both(`actForward ${act}`, [new Float64Array(70001), randArray(rng, 70001, -6, 6)], (k, [y, x]) => k.actForward(y, x, 70001, act));
        both(`actBackward ${act}`, [new Float64Array(200003), randArray(rng, 200003, 0, 1), randArray(rng, 200003)],
          (k, [dx, y, dy]) => k.actBackward(dx, y, dy, 200003, act));
      }
      const n = 200003;
      both('adamUpdate', [randArray(rng, n), randArray(rng, n, -0.1, 0.1), randArray(rng, n, 0, 0.1), randArray(rng, n)],
        (k, [w, m, v, g]) => k.adamUpdate(w, m, v, g, 1e-3, 0.9, 0.999, 1e-8, 3, n));
      both('adagradUpdate', [randArray(rng, n), randArray(rng, n, 0, 1), randArray(rng, n)],
        (k, [w, s, g]) => k.adagradUpdate(w, s, g, 0.1, 1e-8, n));
      both('sgdUpdate + scale', [randArray(rng, n), randArray(rng, n)], (k, [w, g]) => {
        k.sgdUpdate(w, g, 0.1, n);
        k.scale(w, 0.5, n);
      });
    }
  });

  it('views from before a memory.grow stay in place and correct', { skip: builds.length === 0 && 'no wasm build loaded' }, () => {
    const k = (builds[0][1][1] ?? builds[0][1][2])!;
    const A = k.alloc(6);
    A.set([1, 2, 3, 4, 5, 6]);
    const size = k.memoryBytes;
    k.alloc((size - k.heapBytes) / 4 + 1024); // past the end: forces memory.grow (a new memory.buffer object)
    assert.ok(k.memoryBytes > size);
    assert.ok(k.owns(A), 'a view of the pre-grow buffer must still be recognised as wasm memory');
    const C = k.alloc(4);
    k.gemm(C, A, A, 2, 2, 3, false, true, 0); // A·Aᵀ for A = [[1,2,3],[4,5,6]]
    assert.deepEqual(Array.from(C), [14, 32, 32, 77]);
    assert.ok(!k.owns(new Float32Array(4)));
  });

  it('alloc returns zeros, also where staging copies were released', { skip: builds.length === 0 && 'no wasm build loaded' }, () => {
    const k = (builds[0][1][1] ?? builds[0][1][2])!;
    const x = new Float32Array(1000).fill(7); // not wasm memory: staged at the top of the heap
    k.scale(x, 2, 1000);
    assert.equal(x[999], 14);
    const a = k.alloc(1000);
    assert.ok(a.every((v) => v === 0));
  });

  it('createKernels: ref, wasm, openblas and auto name what they chose', async () => {
    const r = await createKernels({ backend: 'ref' });
    assert.equal(r.name, 'ref');
    let nativeBuilt = true;
    try {
      loadNativeGemm(1);
    } catch {
      nativeBuilt = false;
    }
    const a = await createKernels({ backend: 'auto', threads: 1 });
    const w = await createKernels({ backend: 'wasm', threads: 1 });
    try {
      if (builds.length > 0) {
        // auto takes the OpenBLAS GEMM when the addon is built; 'wasm' never does
        assert.match(a.name, nativeBuilt ? /^wasm-simd(\+fma)? \+ OpenBLAS GEMM, 1 thread$/ : /^wasm-simd(\+fma)?, 1 thread$/);
        assert.match(w.name, /^wasm-simd(\+fma)?, 1 thread$/);
      } else {
        assert.equal(a.name, 'ref');
      }
    } finally {
      a.dispose();
      w.dispose();
    }
    if (!nativeBuilt) await assert.rejects(createKernels({ backend: 'openblas' }), /npm run build:native/);
    await assert.rejects(createKernels({ backend: 'nope' as 'ref' }), /one of auto, ref, wasm, openblas/);
  });
});
