// A faithful subset of test/kernels.conformance.test.ts that runs anywhere (no node:test, no
// Node module): every kernel of the interface at awkward sizes (1, 3, 5, 17, 67, past the cache
// blocks and thread splits), seeded inputs, odd offsets, arrays from the backend's own memory and
// plain Float32Arrays, against the reference computed in float64 — with the same tolerances as
// the full suite. The browser test runs it on the wasm backend inside a Worker
// (test/browser/conformance-worker.ts); test/conformance-subset.test.ts runs it on Node's.
// Legend: M, N, K matrix dims; R rows, C columns; n element count.

import type { Activation, Kernels } from '../src/kernels/kernels.js';
import { gemmRef, RefKernels } from '../src/kernels/ref.js';
import { Rng } from '../src/rng.js';

export interface CaseResult {
  name: string;
  /** Checks made (elements compared). */
  checks: number;
  /** The first violation, or null. */
  failure: string | null;
}

const SIZES = [1, 3, 5, 17, 67];
const ref = new RefKernels();

function randArray(rng: Rng, n: number, lo = -1, hi = 1): Float64Array {
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.fround(rng.uniform(lo, hi));
  return a;
}

/** A float32 copy of src at element offset `off`, from k.alloc (own) or a plain array; NaN around it. */
export function f32(k: Kernels, src: ArrayLike<number>, off: number, own: boolean): Float32Array {
  const base = own ? k.alloc(src.length + off + 3) : new Float32Array(src.length + off + 3);
  base.fill(Number.NaN);
  const a = base.subarray(off, off + src.length);
  a.set(src);
  return a;
}

class Failure extends Error {}

/** Throws Failure at the worst |got - want| / tol above 1, as the full suite reports it. */
function expectClose(what: string, got: ArrayLike<number>, want: ArrayLike<number>, tol: (i: number) => number, counter: { n: number }): void {
  let worst = -1;
  let worstRatio = 0;
  for (let i = 0; i < want.length; i++) {
    counter.n++;
    if (Number.isNaN(got[i]) !== Number.isNaN(want[i])) {
      worst = i;
      worstRatio = Infinity;
      break;
    }
    const d = Math.abs(got[i] - want[i]);
    if (Number.isNaN(d)) continue;
    const r = d / tol(i);
    if (r > worstRatio) {
      worstRatio = r;
      worst = i;
    }
  }
  if (worstRatio > 1) {
    throw new Failure(`${what}: largest violation at [${worst}]: got ${got[worst]}, want ${want[worst]}, |diff| ${Math.abs(got[worst] - want[worst]).toExponential(3)} > tol ${tol(worst).toExponential(3)} (${worstRatio.toFixed(2)}× the tolerance)`);
  }
}

function expectScalar(what: string, got: number, want: number, tol: number, counter: { n: number }): void {
  counter.n++;
  if (!(Math.abs(got - want) <= tol)) throw new Failure(`${what}: got ${got}, want ${want}, |diff| ${Math.abs(got - want).toExponential(3)} > tol ${tol.toExponential(3)}`);
}

type Case = (k: Kernels, c: { n: number }) => void;

const GEMM_CASES: { M: number; N: number; K: number }[] = [];
for (const M of [1, 3, 17, 67]) for (const N of [1, 5, 17, 67]) for (const K of [1, 3, 17, 67]) GEMM_CASES.push({ M, N, K });
GEMM_CASES.push(
  { M: 150, N: 2061, K: 259 }, // past MC, NC, KC; split by columns
  { M: 701, N: 13, K: 257 }, // split by rows
  { M: 64, N: 64, K: 0 }, // empty sum
  { M: 20, N: 803, K: 200 }, // the recurrent step
  { M: 1, N: 10007, K: 203 }, // one row (GEMV), split across threads
);

/** Float64 references of the GEMM cases, computed once per process (they cost more than the kernels). */
const gemmRefs = new Map<string, { A: Float64Array; B: Float64Array; C0: Float64Array; want: Float64Array; mag: Float64Array }>();

const gemm: Case = (k, c) => {
  // |C - C64| ≤ 1e-5 · (Σ_k |a_ik b_kj| + |beta·C0_ij|)
  let n = 0;
  for (const g of GEMM_CASES) {
    for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]] as const) {
      for (const beta of [0, 1] as const) {
        const big = g.M * g.N * g.K > 1e6;
        if (big && (beta === 1 || (ta && tb))) continue; // the large shapes once per model layout
        const key = `${g.M}x${g.N}x${g.K}/${ta}/${tb}/${beta}`;
        let r = gemmRefs.get(key);
        if (!r) {
          const rng = new Rng(g.M * 1_000_003 + g.N * 1009 + g.K * 7 + (ta ? 1 : 0) + (tb ? 2 : 0) + beta * 4);
          const A = randArray(rng, g.M * g.K);
          const B = randArray(rng, g.K * g.N);
          const C0 = randArray(rng, g.M * g.N);
          const want = new Float64Array(C0);
          gemmRef(want, A, B, g.M, g.N, g.K, ta, tb, beta);
          const mag = beta ? C0.map(Math.abs) : new Float64Array(g.M * g.N);
          gemmRef(mag, A.map(Math.abs), B.map(Math.abs), g.M, g.N, g.K, ta, tb, 1);
          r = { A, B, C0, want, mag };
          gemmRefs.set(key, r);
        }
        const { A, B, C0, want, mag } = r;
        const own = n % 2 === 0;
        const Cs = f32(k, C0, 3, own);
        k.gemm(Cs, f32(k, A, 1 + (n % 3), own), f32(k, B, n % 5, !own), g.M, g.N, g.K, ta, tb, beta);
        expectClose(`gemm M=${g.M} N=${g.N} K=${g.K} transA=${ta} transB=${tb} beta=${beta}`, Cs, want, (i) => 1e-5 * mag[i] + 1e-30, c);
        n++;
      }
    }
  }
};

const softmax: Case = (k, c) => {
  // per row |lp - lp64| ≤ 1e-6·(1 + |lp64|); loss: the sum of those; dlogits ≤ 2e-6·scale
  let n = 0;
  for (const R of [1, 3, 5, 17, 67]) {
    for (const C of [1, 3, 17, 129, 1031]) {
      for (const grad of [false, true]) {
        const rng = new Rng(R * 7919 + C * 31 + (grad ? 1 : 0));
        const logits = randArray(rng, R * C, -10, 10);
        if (R > 2) for (let j = 0; j < C; j++) logits[C + j] = Math.fround(logits[C + j] + 80);
        const targets = Int32Array.from({ length: R }, () => rng.int(C));
        if (C > 1 && R > 3) logits[2 * C + ((targets[2] + 1) % C)] = -Infinity;
        const scale = 1 / R;
        const want = new Float64Array(logits);
        const lpWant = new Float64Array(R);
        const lossWant = ref.softmaxXent(want, targets, R, C, grad, scale, lpWant);
        const z = f32(k, logits, n % 4, n % 2 === 0);
        const lp = new Float64Array(R);
        const loss = k.softmaxXent(z, targets, R, C, grad, scale, lp);
        const what = `softmaxXent R=${R} C=${C} grad=${grad}`;
        expectClose(`${what} logProbs`, lp, lpWant, (i) => 1e-6 * (1 + Math.abs(lpWant[i])), c);
        let lossTol = 0;
        for (let r = 0; r < R; r++) lossTol += 1e-6 * (1 + Math.abs(lpWant[r]));
        expectScalar(`${what} loss`, loss, lossWant, lossTol, c);
        if (grad) expectClose(`${what} dlogits`, z, want, () => 2e-6 * scale, c);
        else expectClose(`${what} logits unchanged`, z, logits, () => 0, c);
        n++;
      }
    }
  }
  // split across threads
  const R = 67;
  const C = 2053;
  const rng = new Rng(5);
  const logits = randArray(rng, R * C, -8, 8);
  const targets = Int32Array.from({ length: R }, () => rng.int(C));
  const want = new Float64Array(logits);
  const lossWant = ref.softmaxXent(want, targets, R, C, true, 0.5);
  const z = f32(k, logits, 1, true);
  expectScalar('softmaxXent 67×2053 loss', k.softmaxXent(z, targets, R, C, true, 0.5), lossWant, 1e-6 * R * (1 + lossWant / R), c);
  expectClose('softmaxXent 67×2053 dlogits', z, want, () => 2e-6 * 0.5, c);
  // a NaN logit makes the loss NaN (the divergence guard relies on it)
  const zn = k.alloc(2 * 17).fill(0.5);
  zn[18] = Number.NaN;
  c.n++;
  if (!Number.isNaN(k.softmaxXent(zn, Int32Array.from([0, 0]), 2, 17, true, 1))) throw new Failure('softmaxXent: a NaN logit did not make the loss NaN');
};

const activations: Case = (k, c) => {
  // forward: |y - y64| ≤ 5e-7·|y64| + 1e-30; backward: |dx - dx64| ≤ 4e-7·|dx64| + 1e-38
  let n = 0;
  for (const len of [1, 3, 5, 17, 67, 1031, 70001]) {
    const rng = new Rng(len);
    const x = randArray(rng, len, -12, 12);
    const special = [0, -0, 1e-4, -1e-4, 0.6249, 0.6251, -0.7, 9, -9, 20, -20, 44, 87, -87, 100, -100, 1e-30];
    for (let i = 0; i < Math.min(len, special.length); i++) x[(i * 7919) % len] = special[i];
    for (const act of ['sigmoid', 'tanh', 'relu'] as Activation[]) {
      const y64 = new Float64Array(len);
      ref.actForward(y64, x, len, act);
      const inPlace = n % 2 === 1;
      const xs = f32(k, x, n % 3, n % 4 < 2);
      const ys = inPlace ? xs : f32(k, new Float64Array(len), 1, n % 4 >= 2);
      k.actForward(ys, xs, len, act);
      expectClose(`actForward ${act} n=${len}`, ys, y64, (i) => 5e-7 * Math.abs(y64[i]) + 1e-30, c);
      const dy = randArray(rng, len);
      const y = Float64Array.from(ys);
      const dx64 = new Float64Array(len);
      ref.actBackward(dx64, y, dy, len, act);
      const dys = f32(k, dy, 2, n % 2 === 0);
      const dxs = inPlace ? dys : f32(k, new Float64Array(len), 0, n % 2 === 1);
      k.actBackward(dxs, f32(k, y, 1, true), dys, len, act);
      expectClose(`actBackward ${act} n=${len}`, dxs, dx64, (i) => 4e-7 * Math.abs(dx64[i]) + 1e-38, c);
      n++;
    }
  }
};

const biasAndRows: Case = (k, c) => {
  // addBias: |Y - Y64| ≤ 6e-8·|Y64|; sumRows: ≤ 1e-6·(|db0| + Σ_r |dY[r,c]|); gather exact; scatter ≤ 1e-6·(|dT0| + Σ|dOut|)
  let n = 0;
  const shapes: [number, number][] = [];
  for (const R of SIZES) for (const C of SIZES) shapes.push([R, C]);
  shapes.push([67, 2053]);
  for (const [R, C] of shapes) {
    const rng = new Rng(R * 131 + C);
    const Y = randArray(rng, R * C);
    const b = randArray(rng, C);
    const want = new Float64Array(Y);
    ref.addBias(want, b, R, C);
    const Ys = f32(k, Y, n % 3, n % 2 === 0);
    k.addBias(Ys, f32(k, b, 1, n % 2 === 1), R, C);
    expectClose(`addBias R=${R} C=${C}`, Ys, want, (i) => 6e-8 * Math.abs(want[i]) + 1e-38, c);
    const db = randArray(rng, C);
    const dbWant = new Float64Array(db);
    ref.sumRows(dbWant, Y, R, C);
    const mag = db.map(Math.abs);
    ref.sumRows(mag, Y.map(Math.abs), R, C);
    const dbs = f32(k, db, 2, n % 2 === 1);
    k.sumRows(dbs, f32(k, Y, 1, n % 2 === 0), R, C);
    expectClose(`sumRows R=${R} C=${C}`, dbs, dbWant, (i) => 1e-6 * mag[i], c);

    const rows = 11;
    const table = randArray(rng, rows * C);
    const ids = Int32Array.from({ length: R }, () => rng.int(rows));
    const out = f32(k, new Float64Array(R * C), n % 3, n % 2 === 0);
    k.gatherRows(out, f32(k, table, 1, n % 2 === 1), ids, R, C);
    const gWant = new Float64Array(R * C);
    ref.gatherRows(gWant, table, ids, R, C);
    expectClose(`gatherRows R=${R} C=${C}`, out, gWant, () => 0, c);
    const dOut = randArray(rng, R * C);
    const dT = randArray(rng, rows * C);
    const dTWant = new Float64Array(dT);
    ref.scatterAddRows(dTWant, dOut, ids, R, C);
    const magT = dT.map(Math.abs);
    ref.scatterAddRows(magT, dOut.map(Math.abs), ids, R, C);
    const dTs = f32(k, dT, 1, n % 2 === 0);
    k.scatterAddRows(dTs, f32(k, dOut, 2, n % 2 === 1), ids, R, C);
    expectClose(`scatterAddRows R=${R} C=${C}`, dTs, dTWant, (i) => 1e-6 * magT[i], c);
    n++;
  }
};

const transpose: Case = (k, c) => {
  let n = 0;
  for (const R of SIZES) {
    for (const C of SIZES) {
      const x = randArray(new Rng(R * 7 + C), R * C);
      const want = new Float64Array(R * C);
      ref.transpose(want, x, R, C);
      const out = f32(k, new Float64Array(R * C), n % 3, n % 2 === 0);
      k.transpose(out, f32(k, x, 1 + (n % 2), n % 2 === 1), R, C);
      expectClose(`transpose R=${R} C=${C}`, out, want, () => 1e-45, c);
      n++;
    }
  }
};

const reductionsAndUpdates: Case = (k, c) => {
  // sumSquares ≤ 1e-12·s64; scale ≤ 1.5e-7·|w64|; updates ≤ 1e-6·(|w64| + |Δw|)
  for (const len of [1, 3, 5, 17, 67, 4097, 300001]) {
    const rng = new Rng(len * 3);
    const x = randArray(rng, len, -3, 3);
    const want = ref.sumSquares(x, len);
    expectScalar(`sumSquares n=${len}`, k.sumSquares(f32(k, x, len % 3, len % 2 === 0), len), want, 1e-12 * want, c);
  }
  let n = 0;
  for (const len of [1, 3, 17, 67, 1031, 200003]) {
    const rng = new Rng(len * 5 + 1);
    const own = n % 2 === 0;
    const off = n % 3;
    const w = randArray(rng, len);
    const g = randArray(rng, len, -0.1, 0.1);
    const tolW = (want: Float64Array) => (i: number) => 1e-6 * (Math.abs(want[i]) + Math.abs(want[i] - w[i])) + 1e-38;
    const sw = new Float64Array(w);
    ref.scale(sw, 0.37, len);
    const s32 = f32(k, w, off, own);
    k.scale(s32, 0.37, len);
    expectClose(`scale n=${len}`, s32, sw, (i) => 1.5e-7 * Math.abs(sw[i]) + 1e-38, c);
    const gw = new Float64Array(w);
    ref.sgdUpdate(gw, g, 0.1, len);
    const g32 = f32(k, w, off, own);
    k.sgdUpdate(g32, f32(k, g, 1, !own), 0.1, len);
    expectClose(`sgdUpdate n=${len}`, g32, gw, tolW(gw), c);
    const s0 = randArray(rng, len, 0, 0.5);
    const aw = new Float64Array(w);
    const as = new Float64Array(s0);
    ref.adagradUpdate(aw, as, g, 0.1, 1e-8, len);
    const aw32 = f32(k, w, off, own);
    const as32 = f32(k, s0, 2, !own);
    k.adagradUpdate(aw32, as32, f32(k, g, 0, own), 0.1, 1e-8, len);
    expectClose(`adagradUpdate n=${len} w`, aw32, aw, tolW(aw), c);
    expectClose(`adagradUpdate n=${len} s`, as32, as, (i) => 1e-6 * Math.abs(as[i]), c);
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
      expectClose(`adamUpdate n=${len} t=${t} w`, mw32, mw, tolW(mw), c);
      expectClose(`adamUpdate n=${len} t=${t} m`, mm32, mm, (i) => 1e-6 * (Math.abs(mm[i]) + Math.abs(m0[i])) + 1e-38, c);
      expectClose(`adamUpdate n=${len} t=${t} v`, mv32, mv, (i) => 1e-6 * (Math.abs(mv[i]) + Math.abs(v0[i])) + 1e-38, c);
    }
    n++;
  }
};

const lstm: Case = (k, c) => {
  // forward ≤ 1e-6·(1 + |want|); backward ≤ 2e-6 of the magnitude of each product of terms
  let n = 0;
  for (const [B, H] of [[1, 1], [1, 3], [3, 5], [2, 17], [20, 67], [5, 200]]) {
    const rng = new Rng(B * 1000 + H);
    const a = randArray(rng, B * 4 * H, -4, 4);
    const cPrev = randArray(rng, B * H, -2, 2);
    const G64 = new Float64Array(a);
    const c64 = new Float64Array(B * H);
    const tc64 = new Float64Array(B * H);
    const h64 = new Float64Array(B * H);
    ref.lstmForward(G64, cPrev, c64, tc64, h64, B, H);
    const own = n % 2 === 0;
    const G = f32(k, a, n % 3, own);
    const cc = f32(k, new Float64Array(B * H), 2, own);
    const tc = f32(k, new Float64Array(B * H), 0, own);
    const h = f32(k, new Float64Array(B * H), 3, !own);
    k.lstmForward(G, f32(k, cPrev, 1, !own), cc, tc, h, B, H);
    const fwd = (w: Float64Array) => (i: number) => 1e-6 * (1 + Math.abs(w[i]));
    expectClose(`lstmForward gates B=${B} H=${H}`, G, G64, fwd(G64), c);
    expectClose(`lstmForward c B=${B} H=${H}`, cc, c64, fwd(c64), c);
    expectClose(`lstmForward tanh(c) B=${B} H=${H}`, tc, tc64, fwd(tc64), c);
    expectClose(`lstmForward h B=${B} H=${H}`, h, h64, fwd(h64), c);
    const Gs = Float64Array.from(G);
    const tcs = Float64Array.from(tc);
    const dh = randArray(rng, B * H);
    const dc0 = randArray(rng, B * H);
    const dG64 = new Float64Array(B * 4 * H);
    const dc64 = new Float64Array(dc0);
    ref.lstmBackward(dG64, Gs, cPrev, tcs, dh, dc64, B, H);
    const mag = new Float64Array(B * 4 * H);
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
    expectClose(`lstmBackward dG B=${B} H=${H}`, dG, dG64, (i) => 2e-6 * mag[i] + 1e-38, c);
    expectClose(`lstmBackward dc B=${B} H=${H}`, dc, dc64, (i) => 2e-6 * magC[i] + 1e-38, c);
    n++;
  }
};

const gru: Case = (k, c) => {
  let n = 0;
  for (const [B, H] of [[1, 1], [1, 3], [3, 5], [2, 17], [20, 67], [5, 200]]) {
    const rng = new Rng(B * 777 + H);
    const gi = randArray(rng, B * 3 * H, -3, 3);
    const gh = randArray(rng, B * 3 * H, -3, 3);
    const hPrev = randArray(rng, B * H);
    const Gi64 = new Float64Array(gi);
    const h64 = new Float64Array(B * H);
    ref.gruForward(Gi64, gh, hPrev, h64, B, H);
    const own = n % 2 === 0;
    const Gi = f32(k, gi, n % 3, own);
    const h = f32(k, new Float64Array(B * H), 1, !own);
    k.gruForward(Gi, f32(k, gh, 2, !own), f32(k, hPrev, 0, own), h, B, H);
    const fwd = (w: Float64Array) => (i: number) => 1e-6 * (1 + Math.abs(w[i]));
    expectClose(`gruForward gates B=${B} H=${H}`, Gi, Gi64, fwd(Gi64), c);
    expectClose(`gruForward h B=${B} H=${H}`, h, h64, fwd(h64), c);
    const Gs = Float64Array.from(Gi);
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
    expectClose(`gruBackward dGi B=${B} H=${H}`, dGi, dGi64, (i) => 2e-6 * magI[i] + 1e-38, c);
    expectClose(`gruBackward dGh B=${B} H=${H}`, dGh, dGh64, (i) => 2e-6 * magH[i] + 1e-38, c);
    expectClose(`gruBackward dhPrev B=${B} H=${H}`, dp, dp64, (i) => 2e-6 * magP[i] + 1e-38, c);
    n++;
  }
};

export const CASES: Readonly<Record<string, Case>> = {
  'gemm: 4 layouts × beta 0/1 × sizes 1..67, past the blocks, GEMV': gemm,
  'softmaxXent: loss, log-probs, gradient, max subtraction, -Infinity and NaN logits': softmax,
  'actForward / actBackward: sigmoid, tanh, relu, in place and not': activations,
  'addBias, sumRows, gatherRows, scatterAddRows': biasAndRows,
  'transpose': transpose,
  'sumSquares, scale, sgd, adagrad, adam': reductionsAndUpdates,
  'lstmForward / lstmBackward': lstm,
  'gruForward / gruBackward': gru,
};

/** Run every case on `k`; a case stops at its first violation. */
export function runConformanceSubset(k: Kernels): CaseResult[] {
  return Object.entries(CASES).map(([name, f]) => {
    const counter = { n: 0 };
    try {
      f(k, counter);
      return { name, checks: counter.n, failure: null };
    } catch (err) {
      if (err instanceof Failure) return { name, checks: counter.n, failure: err.message };
      return { name, checks: counter.n, failure: `threw ${(err as Error).name}: ${(err as Error).message}` };
    }
  });
}
