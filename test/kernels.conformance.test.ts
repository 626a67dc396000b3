// One numeric suite for every kernel backend: the reference on float32 arrays, and the wasm
// backend (plain SIMD and relaxed-SIMD builds, 1 and 2 threads; with the OpenBLAS GEMM where the
// native addon is built), each against the kernels' specification computed in float64 from the
// same float32 inputs (test/kernel-spec.ts: the contracts of kernels.ts written independently of
// the reference, so that a bug in the reference fails here too). One block per kernel family,
// one case per backend. Sizes hit vector tails, tile edges, cache-block edges and the thread
// splits; inputs are seeded; arrays are taken both from the backend's own memory (kernels.alloc)
// and from plain Float32Arrays, at odd offsets. A backend that cannot load is skipped with the
// reason, unless RNNLM_REQUIRE_BACKENDS (comma-separated: wasm, openblas; CI sets it where the
// build is expected) names it: then its cases fail. Tolerances are stated per kernel, relative to
// the magnitude of the terms (spec.magnitude); a failure prints the largest violation.
// Legend: M, N, K matrix dims; R rows, C columns; B batch, H hidden; n element count.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';

import type { Activation, Kernels } from '../src/kernels/kernels.js';
import { gemmRef, RefKernels } from '../src/kernels/ref.js';
import { createWasmKernels, type WasmKernels } from '../src/kernels/wasm/kernels.js';
import { nodeWasmPlatform as nodePlatform } from '../src/node/wasm-platform.js';
import { loadNativeGemm } from '../src/node/native.js';
import { createNodeKernels as createKernels } from '../src/node/platform.js';
import { Rng } from '../src/rng.js';
import * as spec from './kernel-spec.js';

// ---- backends ---------------------------------------------------------------------------------

interface Backend {
  label: string;
  kernels?: Kernels;
  /** Why it could not load. */
  skip?: string;
  /** Its family (wasm, openblas), for RNNLM_REQUIRE_BACKENDS. */
  family?: string;
}

/** Backends that must load here (CI, where the build is expected): a missing one fails. */
const REQUIRED = new Set((process.env.RNNLM_REQUIRE_BACKENDS ?? '').split(',').map((s) => s.trim()).filter(Boolean));

const backends: Backend[] = [{ label: 'ref (float32)', kernels: new RefKernels() }];
/** Loaded wasm backends by build, for the thread-count comparison. */
const wasmByBuild = new Map<string, { 1?: WasmKernels; 2?: WasmKernels }>();
/**
 * RNNLM_CONFORMANCE_ONLY=ref: the reference row alone, GEMMs up to 17 on a side (mutation testing
 * of ref.ts, scripts/mutate.mjs: the reference has no blocking, so small sizes reach every line).
 */
const refOnly = process.env.RNNLM_CONFORMANCE_ONLY === 'ref';
for (const relaxed of refOnly ? [] : [false, true]) {
  for (const threads of [1, 2] as const) {
    const label = `wasm ${relaxed ? 'simd+relaxed (fma)' : 'simd'}, ${threads} thread${threads > 1 ? 's' : ''}`;
    try {
      const k = await createWasmKernels(nodePlatform, { threads, relaxed });
      backends.push({ label, kernels: k, family: 'wasm' });
      const build = relaxed ? 'relaxed' : 'simd';
      wasmByBuild.set(build, { ...wasmByBuild.get(build), [threads]: k });
    } catch (err) {
      const reason = (err as Error).message;
      console.log(`# skipping backend "${label}": ${reason}`);
      backends.push({ label, skip: reason, family: 'wasm' });
    }
  }
}

// The optional native GEMM (native/, `npm run build:native`): every GEMM goes to OpenBLAS.
if (!refOnly) try {
  const nativeGemm = loadNativeGemm(2);
  backends.push({ label: `wasm + OpenBLAS GEMM, 2 threads (${nativeGemm.info})`, kernels: await createWasmKernels(nodePlatform, { threads: 2, nativeGemm }), family: 'openblas' });
} catch (err) {
  const reason = (err as Error).message;
  console.log(`# skipping backend "wasm + OpenBLAS GEMM": ${reason}`);
  backends.push({ label: 'wasm + OpenBLAS GEMM', skip: reason, family: 'openblas' });
}

after(() => {
  for (const b of backends) (b.kernels as { dispose?: () => void } | undefined)?.dispose?.();
});

/**
 * One test per backend for a kernel family: skipped with the reason where the backend did not
 * load, failed instead where RNNLM_REQUIRE_BACKENDS requires it.
 */
function family(name: string, check: (k: Kernels) => void): void {
  describe(`kernels conformance: ${name}`, () => {
    for (const b of backends) {
      const required = b.skip !== undefined && b.family !== undefined && REQUIRED.has(b.family);
      it(b.label, { skip: required ? false : b.skip }, () => {
        if (required) assert.fail(`backend "${b.label}" is required here (RNNLM_REQUIRE_BACKENDS) but did not load: ${b.skip}`);
        guarded.length = 0;
        check(b.kernels!);
        checkGuards(name);
      });
    }
  });
}

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
  // Guards around the range: NaN (a kernel that reads past its range gets NaN) or, every other
  // array, 7.25 (a kernel that adds into past its range changes it; NaN + x would stay NaN).
  const guard = guardToggle++ % 2 === 0 ? Number.NaN : 7.25;
  base.fill(guard);
  const a = base.subarray(off, off + src.length);
  a.set(src);
  guarded.push({ base, off, len: src.length, guard });
  return a;
}

/** The arrays f32 made since the last check, with the guards around their ranges. */
const guarded: Array<{ base: Float32Array; off: number; len: number; guard: number }> = [];
let guardToggle = 0;

/**
 * Assert that no kernel wrote outside the ranges it was given: the guard elements around every
 * array f32 made since the last check are unchanged (a write one past the end would land in the
 * next tensor of an arena). Called by expectClose and sameBits after each kernel call.
 */
function checkGuards(what: string): void {
  for (const { base, off, len, guard } of guarded) {
    for (let i = 0; i < base.length; i++) {
      if (i === off) i = off + len;
      if (i < base.length && !Object.is(base[i], guard)) {
        assert.fail(`${what}: a kernel wrote outside its range: element ${i - off - (i >= off + len ? len : 0)} ${i < off ? 'before' : 'past'} an array of ${len} is ${base[i]}`);
      }
    }
  }
  guarded.length = 0;
}

/**
 * Assert |got[i] - want[i]| ≤ tol[i] for all i < n; on failure report the worst ratio, where,
 * the values and the tolerance.
 */
function expectClose(what: string, got: ArrayLike<number>, want: ArrayLike<number>, tol: (i: number) => number, n = want.length): void {
  checkGuards(what);
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
  checkGuards(what);
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

if (refOnly) GEMM_CASES.splice(0, GEMM_CASES.length, ...GEMM_CASES.filter((c) => Math.max(c.M, c.N, c.K) <= 17 || c.K === 0));

const LAYOUTS: [boolean, boolean][] = [[false, false], [true, false], [false, true], [true, true]];

/** Specification results in float64, shared by all backends. */
const gemmSpecCache = new Map<string, { A: Float64Array; B: Float64Array; C0: Float64Array; want: Float64Array; mag: Float64Array }>();

function gemmSpec(c: GemmCase, ta: boolean, tb: boolean, beta: 0 | 1) {
  const key = `${c.M}x${c.N}x${c.K}/${ta}/${tb}/${beta}`;
  let r = gemmSpecCache.get(key);
  if (!r) {
    const rng = new Rng(c.M * 1_000_003 + c.N * 1009 + c.K * 7 + (ta ? 1 : 0) + (tb ? 2 : 0) + beta * 4);
    const A = randArray(rng, c.M * c.K);
    const B = randArray(rng, c.K * c.N);
    const C0 = randArray(rng, c.M * c.N);
    const want = spec.gemm(C0, A, B, c.M, c.N, c.K, ta, tb, beta);
    // mag[i,j] = Σ_k |a_ik b_kj| (+ |C0| when accumulating): the scale of the rounding error
    const mag = spec.magnitude((c0, a, b) => spec.gemm(c0, a, b, c.M, c.N, c.K, ta, tb, beta), [C0, A, B]);
    r = { A, B, C0, want, mag };
    gemmSpecCache.set(key, r);
  }
  return r;
}

// ---- the families ---------------------------------------------------------------------------------

family('gemm: 3 layouts (+ AᵀBᵀ) × beta 0/1 × sizes 1..129 and past the blocks, odd offsets', (k) => {
  // |C - C64| ≤ 1e-5 · (Σ_k |a_ik b_kj| + |beta·C0_ij|)
  let n = 0;
  for (const c of GEMM_CASES) {
    for (const [ta, tb] of LAYOUTS) {
      for (const beta of [0, 1] as const) {
        const r = gemmSpec(c, ta, tb, beta);
        const own = n % 2 === 0;
        const A = f32(k, r.A, 1 + (n % 3), own);
        const B = f32(k, r.B, n % 5, !own);
        const C = f32(k, r.C0, 3, own);
        k.gemm(C, A, B, c.M, c.N, c.K, ta, tb, beta);
        expectClose(`gemm M=${c.M} N=${c.N} K=${c.K} transA=${ta} transB=${tb} beta=${beta}`, C, r.want, (i) => 1e-5 * r.mag[i] + 1e-30);
        n++;
      }
    }
  }
});

family('softmaxXent: loss, log-probs and gradient; max subtraction (logits near 80 and 1000); -Infinity logits', (k) => {
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
        // row 3: logits near 1000, where exp overflows even in float64 without the max subtracted
        if (R > 4) for (let c = 0; c < C; c++) logits[3 * C + c] = Math.fround(logits[3 * C + c] + 1000);
        const scale = 1 / R;
        const want = spec.softmaxXent(logits, targets, R, C, scale);
        const z = f32(k, logits, n % 4, n % 2 === 0);
        const lp = new Float64Array(R);
        const loss = k.softmaxXent(z, targets, R, C, grad, scale, lp);
        const what = `softmaxXent R=${R} C=${C} grad=${grad}`;
        expectClose(`${what} logProbs`, lp, want.logProbs, (i) => 1e-6 * (1 + Math.abs(want.logProbs[i])));
        let lossTol = 0;
        for (let r = 0; r < R; r++) lossTol += 1e-6 * (1 + Math.abs(want.logProbs[r]));
        expectCloseScalar(`${what} loss`, loss, want.loss, lossTol);
        if (grad) expectClose(`${what} dlogits`, z, want.dlogits, () => 2e-6 * scale);
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
  const want = spec.softmaxXent(logits, targets, R, C, 0.5);
  const z = f32(k, logits, 1, true);
  const loss = k.softmaxXent(z, targets, R, C, true, 0.5);
  expectCloseScalar('softmaxXent 67×2053 loss', loss, want.loss, 1e-6 * R * (1 + want.loss / R));
  expectClose('softmaxXent 67×2053 dlogits', z, want.dlogits, () => 2e-6 * 0.5);
});

family('softmaxXent: a NaN logit makes the loss NaN (the divergence guard relies on it); a target outside [0, C) is refused', (k) => {
  for (const C of [3, 17]) {
    const z = k.alloc(2 * C);
    z.fill(0.5);
    z[C + 1] = Number.NaN;
    const loss = k.softmaxXent(z, Int32Array.from([0, 0]), 2, C, true, 1);
    assert.ok(Number.isNaN(loss), `C=${C}: loss ${loss}`);
    assert.ok(z.subarray(0, C).every(Number.isFinite), `C=${C}: the other row stays finite`);
  }
  const z = k.alloc(6);
  assert.throws(() => k.softmaxXent(z, Int32Array.from([0, 3]), 2, 3, false, 1), /target 3 at row 1/);
  assert.throws(() => k.softmaxXent(z, Int32Array.from([-1, 0]), 2, 3, false, 1), /target -1 at row 0/);
});

family('actForward / actBackward: sigmoid, tanh, relu, in place and out of place', (k) => {
  // forward: |y - y64| ≤ 5e-7·|y64| + 1e-30; backward: |dx - dx64| ≤ 4e-7·|dx64| + 1e-38
  const acts: Activation[] = ['sigmoid', 'tanh', 'relu'];
  let n = 0;
  for (const len of [1, 3, 5, 17, 67, 129, 1031, 70001]) {
    const rng = new Rng(len);
    const x = randArray(rng, len, -12, 12);
    const special = [0, -0, 1e-4, -1e-4, 0.6249, 0.6251, -0.7, 9, -9, 20, -20, 44, 87, -87, 100, -100, 1e-30];
    for (let i = 0; i < Math.min(len, special.length); i++) x[(i * 7919) % len] = special[i];
    for (const act of acts) {
      const y64 = spec.act(x, act);
      const inPlace = n % 2 === 1;
      const xs = f32(k, x, n % 3, n % 4 < 2);
      const ys = inPlace ? xs : f32(k, new Float64Array(len), 1, n % 4 >= 2);
      k.actForward(ys, xs, len, act);
      expectClose(`actForward ${act} n=${len}${inPlace ? ' in place' : ''}`, ys, y64, (i) => 5e-7 * Math.abs(y64[i]) + 1e-30);

      const dy = randArray(rng, len);
      const y = Float64Array.from(ys); // backward from the forward output
      const dx64 = spec.actBackward(y, dy, act);
      const dys = f32(k, dy, 2, n % 2 === 0);
      const dxs = inPlace ? dys : f32(k, new Float64Array(len), 0, n % 2 === 1);
      k.actBackward(dxs, f32(k, y, 1, true), dys, len, act);
      expectClose(`actBackward ${act} n=${len}${inPlace ? ' in place' : ''}`, dxs, dx64, (i) => 4e-7 * Math.abs(dx64[i]) + 1e-38);
      n++;
    }
  }
});

family('addBias and sumRows', (k) => {
  // addBias: |Y - Y64| ≤ 6e-8·|Y64|; sumRows: |db - db64| ≤ 1e-6·(|db0| + Σ_r |dY[r,c]|)
  let n = 0;
  const shapes: [number, number][] = [];
  for (const R of SIZES) for (const C of SIZES) shapes.push([R, C]);
  shapes.push([67, 2053]); // split across threads
  for (const [R, C] of shapes) {
    const rng = new Rng(R * 131 + C);
    const Y = randArray(rng, R * C);
    const b = randArray(rng, C);
    const want = spec.addBias(Y, b, R, C);
    const Ys = f32(k, Y, n % 3, n % 2 === 0);
    k.addBias(Ys, f32(k, b, 1, n % 2 === 1), R, C);
    expectClose(`addBias R=${R} C=${C}`, Ys, want, (i) => 6e-8 * Math.abs(want[i]) + 1e-38);

    const db = randArray(rng, C);
    const dbWant = spec.sumRows(db, Y, R, C);
    const mag = spec.magnitude((d, y) => spec.sumRows(d, y, R, C), [db, Y]);
    const dbs = f32(k, db, 2, n % 2 === 1);
    k.sumRows(dbs, f32(k, Y, 1, n % 2 === 0), R, C);
    expectClose(`sumRows R=${R} C=${C}`, dbs, dbWant, (i) => 1e-6 * mag[i]);
    n++;
  }
});

family('gatherRows and scatterAddRows (repeated ids, fixed order)', (k) => {
  let n = 0;
  for (const R of SIZES) {
    for (const C of SIZES) {
      const rows = 11;
      const rng = new Rng(R * 17 + C);
      const table = randArray(rng, rows * C);
      const ids = Int32Array.from({ length: R }, () => rng.int(rows));
      const out = f32(k, new Float64Array(R * C), n % 3, n % 2 === 0);
      k.gatherRows(out, f32(k, table, 1, n % 2 === 1), ids, R, C);
      expectClose(`gatherRows R=${R} C=${C}`, out, spec.gatherRows(table, ids, R, C), () => 0);

      // |dT - dT64| ≤ 1e-6·(|dT0| + Σ |dOut| added into the row)
      const dOut = randArray(rng, R * C);
      const dT = randArray(rng, rows * C);
      const dTWant = spec.scatterAddRows(dT, dOut, ids, R, C);
      const mag = spec.magnitude((t, o) => spec.scatterAddRows(t, o, ids, R, C), [dT, dOut]);
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

family('sumSquares (float64 result), short and chunked/split lengths', (k) => {
  // |s - s64| ≤ 1e-12·s64 (squares are exact in float64; only the summation order differs)
  for (const len of [1, 3, 5, 17, 67, 129, 4095, 4097, 300001]) {
    const rng = new Rng(len * 3);
    const x = randArray(rng, len, -3, 3);
    const want = spec.sumSquares(x);
    const got = k.sumSquares(f32(k, x, len % 3, len % 2 === 0), len);
    expectCloseScalar(`sumSquares n=${len}`, got, want, 1e-12 * want);
  }
});

family('scale, sgdUpdate, adagradUpdate, adamUpdate', (k) => {
  // |w - w64| ≤ 1e-6·(|w64| + |Δw|) (a few float32 roundings of each term); state alike
  let n = 0;
  for (const len of [1, 3, 5, 17, 67, 129, 1031, 200003]) {
    const rng = new Rng(len * 5 + 1);
    const own = n % 2 === 0;
    const off = n % 3;
    const w = randArray(rng, len);
    const g = randArray(rng, len, -0.1, 0.1);
    // a few tiny gradients, where Adagrad's and Adam's eps is not negligible beside √s
    for (let i = 0; i < len; i += 7) g[i] = Math.fround(g[i] * 1e-8);
    const tolW = (want: Float64Array, w0: Float64Array) => (i: number) => 1e-6 * (Math.abs(want[i]) + Math.abs(want[i] - w0[i])) + 1e-38;

    const sw = spec.scale(w, 0.37);
    const s32 = f32(k, w, off, own);
    k.scale(s32, 0.37, len);
    // two roundings: a to float32, then the product
    expectClose(`scale n=${len}`, s32, sw, (i) => 1.5e-7 * Math.abs(sw[i]) + 1e-38);

    const gw = spec.sgd(w, g, 0.1);
    const g32 = f32(k, w, off, own);
    k.sgdUpdate(g32, f32(k, g, 1, !own), 0.1, len);
    expectClose(`sgdUpdate n=${len}`, g32, gw, tolW(gw, w));

    const s0 = randArray(rng, len, 0, 0.5);
    for (let i = 0; i < len; i += 7) s0[i] = 0;
    const ag = spec.adagrad(w, s0, g, 0.1, 1e-8);
    const aw32 = f32(k, w, off, own);
    const as32 = f32(k, s0, 2, !own);
    k.adagradUpdate(aw32, as32, f32(k, g, 0, own), 0.1, 1e-8, len);
    expectClose(`adagradUpdate n=${len} w`, aw32, ag.w, tolW(ag.w, w));
    expectClose(`adagradUpdate n=${len} s`, as32, ag.s, (i) => 1e-6 * Math.abs(ag.s[i]));

    const m0 = randArray(rng, len, -0.05, 0.05);
    const v0 = randArray(rng, len, 0, 0.01);
    for (const t of [1, 7]) {
      const ad = spec.adam(w, m0, v0, g, 1e-3, 0.9, 0.999, 1e-8, t);
      const mw32 = f32(k, w, off, own);
      const mm32 = f32(k, m0, 1, own);
      const mv32 = f32(k, v0, 0, !own);
      k.adamUpdate(mw32, mm32, mv32, f32(k, g, 2, own), 1e-3, 0.9, 0.999, 1e-8, t, len);
      expectClose(`adamUpdate n=${len} t=${t} w`, mw32, ad.w, tolW(ad.w, w));
      expectClose(`adamUpdate n=${len} t=${t} m`, mm32, ad.m, (i) => 1e-6 * (Math.abs(ad.m[i]) + Math.abs(m0[i])) + 1e-38);
      expectClose(`adamUpdate n=${len} t=${t} v`, mv32, ad.v, (i) => 1e-6 * (Math.abs(ad.v[i]) + Math.abs(v0[i])) + 1e-38);
    }
    n++;
  }
});

family('transpose: exact, sizes 1..129 and odd offsets', (k) => {
  let n = 0;
  for (const R of SIZES) {
    for (const C of SIZES) {
      const x = randArray(new Rng(R * 7 + C), R * C);
      const out = f32(k, new Float64Array(R * C), n % 3, n % 2 === 0);
      k.transpose(out, f32(k, x, 1 + (n % 2), n % 2 === 1), R, C);
      expectClose(`transpose R=${R} C=${C}`, out, spec.transpose(x, R, C), () => 1e-45);
      n++;
    }
  }
});

family('lstmForward / lstmBackward: gates, cell and their gradients against float64', (k) => {
  // Forward: each output within 1e-6·(1 + |want|) (all are O(1): gates in [-1, 1], |c| ≤ |cPrev| + 1).
  // Backward: dJ/da within 2e-6 of the magnitude of its product of terms, dc likewise.
  let n = 0;
  for (const [B, H] of [[1, 1], [1, 3], [3, 5], [2, 17], [20, 67], [5, 200]]) {
    const rng = new Rng(B * 1000 + H);
    const a = randArray(rng, B * 4 * H, -4, 4);
    const cPrev = randArray(rng, B * H, -2, 2);
    const fw = spec.lstmForward(a, cPrev, B, H);
    const own = n % 2 === 0;
    const G = f32(k, a, n % 3, own);
    const cp = f32(k, cPrev, 1, !own);
    const c = f32(k, new Float64Array(B * H), 2, own);
    const tc = f32(k, new Float64Array(B * H), 0, own);
    const h = f32(k, new Float64Array(B * H), 3, !own);
    k.lstmForward(G, cp, c, tc, h, B, H);
    const fwdTol = (w: Float64Array) => (i: number) => 1e-6 * (1 + Math.abs(w[i]));
    expectClose(`lstmForward gates B=${B} H=${H}`, G, fw.G, fwdTol(fw.G));
    expectClose(`lstmForward c B=${B} H=${H}`, c, fw.c, fwdTol(fw.c));
    expectClose(`lstmForward tanh(c) B=${B} H=${H}`, tc, fw.tc, fwdTol(fw.tc));
    expectClose(`lstmForward h B=${B} H=${H}`, h, fw.h, fwdTol(fw.h));

    // backward from float32 activations, the same inputs on both sides
    const Gs = Float64Array.from(G);
    const tcs = Float64Array.from(tc);
    const dh = randArray(rng, B * H);
    const dc0 = randArray(rng, B * H);
    const bw = spec.lstmBackward(Gs, cPrev, tcs, dh, dc0, B, H);
    const mag = spec.magnitude((g, cp0, t, d, dc) => spec.lstmBackward(g, cp0, t, d, dc, B, H), [Gs, cPrev, tcs, dh, dc0]);
    const dG = f32(k, new Float64Array(B * 4 * H), 1, own);
    const dc = f32(k, dc0, 2, !own);
    k.lstmBackward(dG, f32(k, Gs, 0, own), f32(k, cPrev, 1, own), f32(k, tcs, 2, !own), f32(k, dh, 3, own), dc, B, H);
    expectClose(`lstmBackward dG B=${B} H=${H}`, dG, bw.dG, (i) => 2e-6 * mag.dG[i] + 1e-38);
    expectClose(`lstmBackward dc B=${B} H=${H}`, dc, bw.dc, (i) => 2e-6 * mag.dc[i] + 1e-38);
    n++;
  }
});

family('gruForward / gruBackward: gates, state and their gradients against float64', (k) => {
  // Forward: within 1e-6·(1 + |want|) (gates in [-1, 1], |h| ≤ max(|n|, |hPrev|)).
  // Backward: each dJ/da within 2e-6 of the magnitude of its product of terms; dhPrev += dh⊙z likewise.
  let n = 0;
  for (const [B, H] of [[1, 1], [1, 3], [3, 5], [2, 17], [20, 67], [5, 200]]) {
    const rng = new Rng(B * 777 + H);
    const gi = randArray(rng, B * 3 * H, -3, 3);
    const gh = randArray(rng, B * 3 * H, -3, 3);
    const hPrev = randArray(rng, B * H);
    const fw = spec.gruForward(gi, gh, hPrev, B, H);
    const own = n % 2 === 0;
    const Gi = f32(k, gi, n % 3, own);
    const h = f32(k, new Float64Array(B * H), 1, !own);
    k.gruForward(Gi, f32(k, gh, 2, !own), f32(k, hPrev, 0, own), h, B, H);
    const fwdTol = (w: Float64Array) => (i: number) => 1e-6 * (1 + Math.abs(w[i]));
    expectClose(`gruForward gates B=${B} H=${H}`, Gi, fw.G, fwdTol(fw.G));
    expectClose(`gruForward h B=${B} H=${H}`, h, fw.h, fwdTol(fw.h));

    const Gs = Float64Array.from(Gi); // backward from the float32 gates
    const dh = randArray(rng, B * H);
    const dp0 = randArray(rng, B * H);
    const bw = spec.gruBackward(Gs, gh, hPrev, dh, dp0, B, H);
    // n enters da_z as (hPrev - n): its magnitude is |hPrev| + |n|, so n (input 0, block 2) goes in as -|n|
    const mag = spec.magnitude((g, ghh, hp, d, dp) => spec.gruBackward(g, ghh, hp, d, dp, B, H), [Gs, gh, hPrev, dh, dp0],
      (input, i) => input === 0 && i % (3 * H) >= 2 * H);
    const dGi = f32(k, new Float64Array(B * 3 * H), 1, own);
    const dGh = f32(k, new Float64Array(B * 3 * H), 2, !own);
    const dp = f32(k, dp0, 3, own);
    k.gruBackward(dGi, dGh, f32(k, Gs, 0, own), f32(k, gh, 1, !own), f32(k, hPrev, 2, own), f32(k, dh, 0, !own), dp, B, H);
    expectClose(`gruBackward dGi B=${B} H=${H}`, dGi, bw.dGi, (i) => 2e-6 * mag.dGi[i] + 1e-38);
    expectClose(`gruBackward dGh B=${B} H=${H}`, dGh, bw.dGh, (i) => 2e-6 * mag.dGh[i] + 1e-38);
    expectClose(`gruBackward dhPrev B=${B} H=${H}`, dp, bw.dhPrev, (i) => 2e-6 * mag.dhPrev[i] + 1e-38);
    // without dhPrev (the first step): the same gradients
    const dGi2 = f32(k, new Float64Array(B * 3 * H), 0, own);
    k.gruBackward(dGi2, f32(k, new Float64Array(B * 3 * H), 0, own), f32(k, Gs, 1, !own), f32(k, gh, 0, own), f32(k, hPrev, 1, !own), f32(k, dh, 2, own), null, B, H);
    expectClose(`gruBackward (no dhPrev) dGi B=${B} H=${H}`, dGi2, bw.dGi, (i) => 2e-6 * mag.dGi[i] + 1e-38);
    n++;
  }
});

family('extent: every kernel writes only the elements its sizes name (arrays one longer, the extra element a sentinel)', (k) => {
  // A kernel's arrays may be longer than its sizes say (scratch buffers, rows of an arena): a
  // write one past the range would change the next tensor. (f32's views end at the range, where
  // such writes are dropped; here the arrays go on.)
  const rng = new Rng(77);
  const S = 7.25;
  /** An output (sentinel S after it) or an input (-S after it: a kernel that copies it over is caught too). */
  const arr = (n: number, lo = -1, hi = 1, sentinel = S): Float32Array => {
    const a = k.alloc(n + 1);
    a.set(randArray(rng, n, lo, hi));
    a[n] = sentinel;
    return a;
  };
  const inp = (n: number, lo = -1, hi = 1): Float32Array => arr(n, lo, hi, -S);
  const tail = (what: string, a: ArrayLike<number>, n: number): void => assert.equal(a[n], S, `${what}: wrote past its ${n} elements`);
  const [M, N, K, R, C, B, H, n] = [3, 4, 5, 3, 6, 2, 3, 9];
  for (const [ta, tb] of LAYOUTS) {
    const Cm = arr(M * N);
    k.gemm(Cm, inp(M * K), inp(K * N), M, N, K, ta, tb, 1);
    tail(`gemm ${ta} ${tb}`, Cm, M * N);
  }
  const tr = arr(R * C);
  k.transpose(tr, inp(R * C), R, C);
  tail('transpose', tr, R * C);
  const z = arr(R * C, -3, 3);
  const lp = new Float64Array(R + 1).fill(S);
  k.softmaxXent(z, Int32Array.from([0, 5, 2]), R, C, true, 1, lp);
  tail('softmaxXent dlogits', z, R * C);
  tail('softmaxXent logProbs', lp, R);
  const Y = arr(R * C);
  k.addBias(Y, inp(C), R, C);
  tail('addBias', Y, R * C);
  const db = arr(C);
  k.sumRows(db, inp(R * C), R, C);
  tail('sumRows', db, C);
  for (const act of ['sigmoid', 'tanh', 'relu'] as const) {
    const y = arr(n, -3, 3);
    k.actForward(y, inp(n, -3, 3), n, act);
    tail(`actForward ${act}`, y, n);
    const dx = arr(n);
    k.actBackward(dx, inp(n, 0, 1), inp(n), n, act);
    tail(`actBackward ${act}`, dx, n);
  }
  const [G, c, tc, h] = [arr(B * 4 * H, -2, 2), arr(B * H), arr(B * H), arr(B * H)];
  k.lstmForward(G, inp(B * H), c, tc, h, B, H);
  for (const [what, a, len] of [['G', G, B * 4 * H], ['c', c, B * H], ['tc', tc, B * H], ['h', h, B * H]] as const) tail(`lstmForward ${what}`, a, len);
  const [dG, dc] = [arr(B * 4 * H), arr(B * H)];
  k.lstmBackward(dG, inp(B * 4 * H, 0, 1), inp(B * H), inp(B * H), inp(B * H), dc, B, H);
  tail('lstmBackward dG', dG, B * 4 * H);
  tail('lstmBackward dc', dc, B * H);
  const [Gi, hg] = [arr(B * 3 * H, -2, 2), arr(B * H)];
  k.gruForward(Gi, inp(B * 3 * H), inp(B * H), hg, B, H);
  tail('gruForward Gi', Gi, B * 3 * H);
  tail('gruForward h', hg, B * H);
  const [dGi, dGh, dhp] = [arr(B * 3 * H), arr(B * 3 * H), arr(B * H)];
  k.gruBackward(dGi, dGh, inp(B * 3 * H, 0, 1), inp(B * 3 * H), inp(B * H), inp(B * H), dhp, B, H);
  for (const [what, a, len] of [['dGi', dGi, B * 3 * H], ['dGh', dGh, B * 3 * H], ['dhPrev', dhp, B * H]] as const) tail(`gruBackward ${what}`, a, len);
  // ids longer than R: the extra id must not be used
  const out = arr(R * C);
  k.gatherRows(out, inp(3 * C), Int32Array.from([2, 0, 2, 1]), R, C);
  tail('gatherRows', out, R * C);
  const dT = arr(3 * C);
  const row2 = dT.slice(2 * C, 3 * C);
  k.scatterAddRows(dT, inp(R * C), Int32Array.from([0, 1, 0, 2]), R, C);
  tail('scatterAddRows', dT, 3 * C);
  assert.deepEqual([...dT.subarray(2 * C, 3 * C)], [...row2], 'scatterAddRows: row 2 (named only by the id past R) changed');
  const x = arr(n);
  k.scale(x, 0.5, n);
  tail('scale', x, n);
  const w = arr(n);
  k.sgdUpdate(w, inp(n), 0.1, n);
  tail('sgdUpdate', w, n);
  const [wa, sa] = [arr(n), arr(n, 0, 1)];
  k.adagradUpdate(wa, sa, inp(n), 0.1, 1e-10, n);
  tail('adagradUpdate w', wa, n);
  tail('adagradUpdate s', sa, n);
  const [wm, m, v] = [arr(n), arr(n), arr(n, 0, 1)];
  k.adamUpdate(wm, m, v, inp(n), 1e-3, 0.9, 0.999, 1e-8, 2, n);
  for (const [what, a] of [['w', wm], ['m', m], ['v', v]] as const) tail(`adamUpdate ${what}`, a, n);
});

family('Float64Array arguments give the reference result exactly (gradient checks)', (k) => {
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

// ---- wasm-only checks ---------------------------------------------------------------------------

describe('wasm backend specifics', { skip: refOnly && 'RNNLM_CONFORMANCE_ONLY=ref' }, () => {
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
