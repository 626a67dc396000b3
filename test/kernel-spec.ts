// The kernels written a second time, independently of src/kernels/ref.ts and ref-fused.ts, from
// the contracts in src/kernels/kernels.ts: plain float64 formulas, one output element at a time,
// no loop ordering, no shortcuts. The conformance suites (kernels, fused) check every backend,
// the reference included, against these (a reference compared with itself would pass any bug in it).
// Legend: M, N, K matrix dims; R rows, C columns; B batch, H hidden; n element count.

type Vec = ArrayLike<number>;
const f64 = (n: number): Float64Array => new Float64Array(n);
const sigma = (a: number): number => 1 / (1 + Math.exp(-a));

/** C[i,j] = beta·C0[i,j] + Σ_k op(A)[i,k]·op(B)[k,j], with op(A) [M,K] and op(B)ᵀ [N,K] written out first. */
export function gemm(C0: Vec, A: Vec, B: Vec, M: number, N: number, K: number, transA: boolean, transB: boolean, beta: 0 | 1): Float64Array {
  const a = f64(M * K); // op(A), row i = the i-th row of the product's left factor
  for (let i = 0; i < M; i++) for (let k = 0; k < K; k++) a[i * K + k] = transA ? A[k * M + i] : A[i * K + k];
  const bt = f64(N * K); // op(B)ᵀ, row j = the j-th column of the right factor
  for (let j = 0; j < N; j++) for (let k = 0; k < K; k++) bt[j * K + k] = transB ? B[j * K + k] : B[k * N + j];
  const C = f64(M * N);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += a[i * K + k] * bt[j * K + k];
      C[i * N + j] = (beta === 1 ? C0[i * N + j] : 0) + s;
    }
  }
  return C;
}

/**
 * Softmax + cross-entropy of each row: log p = z - log Σ exp(z), computed as z - m - log Σ exp(z - m)
 * with m the row max (the same value in exact arithmetic; without m, exp overflows past ~709).
 */
export function softmaxXent(z: Vec, targets: Int32Array, R: number, C: number, scale: number): { loss: number; logProbs: Float64Array; dlogits: Float64Array } {
  const logProbs = f64(R);
  const dlogits = f64(R * C);
  let loss = 0;
  for (let r = 0; r < R; r++) {
    const row = Array.from({ length: C }, (_, c) => z[r * C + c]);
    const m = Math.max(...row);
    const logZ = m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
    logProbs[r] = row[targets[r]] - logZ;
    loss -= logProbs[r];
    for (let c = 0; c < C; c++) dlogits[r * C + c] = (Math.exp(row[c] - logZ) - (c === targets[r] ? 1 : 0)) * scale;
  }
  return { loss, logProbs, dlogits };
}

export function act(x: Vec, a: 'sigmoid' | 'tanh' | 'relu'): Float64Array {
  return Float64Array.from(x, (v) => (a === 'sigmoid' ? sigma(v) : a === 'tanh' ? Math.tanh(v) : Math.max(v, 0)));
}

/** dx = dy · act'(a), from y = act(a): σ' = y(1 - y), tanh' = 1 - y², relu' = [y > 0]. */
export function actBackward(y: Vec, dy: Vec, a: 'sigmoid' | 'tanh' | 'relu'): Float64Array {
  return Float64Array.from(y, (v, i) => dy[i] * (a === 'sigmoid' ? v * (1 - v) : a === 'tanh' ? 1 - v * v : v > 0 ? 1 : 0));
}

export function addBias(Y: Vec, b: Vec, R: number, C: number): Float64Array {
  return Float64Array.from(Y, (v, i) => v + b[i % C]);
}

export function sumRows(db: Vec, dY: Vec, R: number, C: number): Float64Array {
  return Float64Array.from(db, (v, c) => {
    let s = v;
    for (let r = 0; r < R; r++) s += dY[r * C + c];
    return s;
  });
}

export function transpose(x: Vec, R: number, C: number): Float64Array {
  const out = f64(R * C);
  for (let c = 0; c < C; c++) for (let r = 0; r < R; r++) out[c * R + r] = x[r * C + c];
  return out;
}

export function gatherRows(table: Vec, ids: Int32Array, R: number, C: number): Float64Array {
  return Float64Array.from({ length: R * C }, (_, i) => table[ids[Math.floor(i / C)] * C + (i % C)]);
}

export function scatterAddRows(dTable: Vec, dOut: Vec, ids: Int32Array, R: number, C: number): Float64Array {
  const out = Float64Array.from(dTable);
  for (let r = 0; r < R; r++) for (let c = 0; c < C; c++) out[ids[r] * C + c] += dOut[r * C + c];
  return out;
}

export function sumSquares(x: Vec): number {
  return Array.from(x).reduce((s, v) => s + v * v, 0);
}

export function scale(x: Vec, a: number): Float64Array {
  return Float64Array.from(x, (v) => v * a);
}

export function sgd(w: Vec, g: Vec, lr: number): Float64Array {
  return Float64Array.from(w, (v, i) => v - lr * g[i]);
}

/** Adagrad: s' = s + g², w' = w - lr·g / (√s' + eps). */
export function adagrad(w: Vec, s: Vec, g: Vec, lr: number, eps: number): { w: Float64Array; s: Float64Array } {
  const s2 = Float64Array.from(s, (v, i) => v + g[i] ** 2);
  return { w: Float64Array.from(w, (v, i) => v - (lr * g[i]) / (Math.sqrt(s2[i]) + eps)), s: s2 };
}

/** Adam at step t: m' = β1 m + (1-β1) g, v' = β2 v + (1-β2) g², w' = w - lr·(m'/(1-β1^t)) / (√(v'/(1-β2^t)) + eps). */
export function adam(w: Vec, m: Vec, v: Vec, g: Vec, lr: number, b1: number, b2: number, eps: number, t: number): { w: Float64Array; m: Float64Array; v: Float64Array } {
  const m2 = Float64Array.from(m, (x, i) => b1 * x + (1 - b1) * g[i]);
  const v2 = Float64Array.from(v, (x, i) => b2 * x + (1 - b2) * g[i] ** 2);
  const mHat = (i: number): number => m2[i] / (1 - b1 ** t);
  const vHat = (i: number): number => v2[i] / (1 - b2 ** t);
  return { w: Float64Array.from(w, (x, i) => x - (lr * mHat(i)) / (Math.sqrt(vHat(i)) + eps)), m: m2, v: v2 };
}

/** One LSTM step from pre-activations a [B, 4H] (i, f, g, o) and cPrev [B, H]. */
export function lstmForward(a: Vec, cPrev: Vec, B: number, H: number): { G: Float64Array; c: Float64Array; tc: Float64Array; h: Float64Array } {
  const G = f64(B * 4 * H);
  const c = f64(B * H);
  const tc = f64(B * H);
  const h = f64(B * H);
  for (let b = 0; b < B; b++) {
    for (let j = 0; j < H; j++) {
      const at = (gate: number): number => a[b * 4 * H + gate * H + j];
      const [i, f, g, o] = [sigma(at(0)), sigma(at(1)), Math.tanh(at(2)), sigma(at(3))];
      [G[b * 4 * H + j], G[b * 4 * H + H + j], G[b * 4 * H + 2 * H + j], G[b * 4 * H + 3 * H + j]] = [i, f, g, o];
      const s = b * H + j;
      c[s] = f * cPrev[s] + i * g;
      tc[s] = Math.tanh(c[s]);
      h[s] = o * tc[s];
    }
  }
  return { G, c, tc, h };
}

/** The LSTM step backward (Kernels.lstmBackward's formulas), from its activations. */
export function lstmBackward(G: Vec, cPrev: Vec, tc: Vec, dh: Vec, dc: Vec, B: number, H: number): { dG: Float64Array; dc: Float64Array } {
  const dG = f64(B * 4 * H);
  const dcOut = f64(B * H);
  for (let b = 0; b < B; b++) {
    for (let j = 0; j < H; j++) {
      const gate = (k: number): number => G[b * 4 * H + k * H + j];
      const [i, f, g, o] = [gate(0), gate(1), gate(2), gate(3)];
      const s = b * H + j;
      const dct = dc[s] + dh[s] * o * (1 - tc[s] ** 2);
      dG[b * 4 * H + j] = dct * g * i * (1 - i);
      dG[b * 4 * H + H + j] = dct * cPrev[s] * f * (1 - f);
      dG[b * 4 * H + 2 * H + j] = dct * i * (1 - g ** 2);
      dG[b * 4 * H + 3 * H + j] = dh[s] * tc[s] * o * (1 - o);
      dcOut[s] = dct * f;
    }
  }
  return { dG, dc: dcOut };
}

/** One GRU step from gi = W_ih x + b_ih and gh = W_hh h + b_hh [B, 3H] (r, z, n) and hPrev [B, H]. */
export function gruForward(gi: Vec, gh: Vec, hPrev: Vec, B: number, H: number): { G: Float64Array; h: Float64Array } {
  const G = f64(B * 3 * H);
  const h = f64(B * H);
  for (let b = 0; b < B; b++) {
    for (let j = 0; j < H; j++) {
      const q = (k: number): number => b * 3 * H + k * H + j;
      const r = sigma(gi[q(0)] + gh[q(0)]);
      const z = sigma(gi[q(1)] + gh[q(1)]);
      const n = Math.tanh(gi[q(2)] + r * gh[q(2)]);
      [G[q(0)], G[q(1)], G[q(2)]] = [r, z, n];
      h[b * H + j] = (1 - z) * n + z * hPrev[b * H + j];
    }
  }
  return { G, h };
}

/** The GRU step backward (Kernels.gruBackward's formulas); dhPrev' = dhPrev + dh ⊙ z. */
export function gruBackward(G: Vec, gh: Vec, hPrev: Vec, dh: Vec, dhPrev: Vec, B: number, H: number): { dGi: Float64Array; dGh: Float64Array; dhPrev: Float64Array } {
  const dGi = f64(B * 3 * H);
  const dGh = f64(B * 3 * H);
  const dp = Float64Array.from(dhPrev);
  for (let b = 0; b < B; b++) {
    for (let j = 0; j < H; j++) {
      const q = (k: number): number => b * 3 * H + k * H + j;
      const [r, z, n] = [G[q(0)], G[q(1)], G[q(2)]];
      const s = b * H + j;
      const dan = dh[s] * (1 - z) * (1 - n ** 2);
      const dar = dan * gh[q(2)] * r * (1 - r);
      const daz = dh[s] * (hPrev[s] - n) * z * (1 - z);
      [dGi[q(0)], dGi[q(1)], dGi[q(2)]] = [dar, daz, dan];
      [dGh[q(0)], dGh[q(1)], dGh[q(2)]] = [dar, daz, dan * r];
      dp[s] += dh[s] * z;
    }
  }
  return { dGi, dGh, dhPrev: dp };
}

/**
 * The rounding-error scale of a computed value: the same computation on the absolute values of
 * its inputs, so that every term of every sum and product counts positively (Σ |terms|); a float32
 * result is then held to c·ε·magnitude. An input element that enters through a difference (GRU's
 * hPrev - n) is given as minus its absolute value where `negate(input, index)` says so, so that
 * the difference becomes the sum of the two magnitudes.
 */
export function magnitude<T>(compute: (...inputs: Float64Array[]) => T, inputs: Vec[], negate?: (input: number, index: number) => boolean): T {
  return compute(...inputs.map((x, k) => Float64Array.from(x, (v, i) => (negate?.(k, i) ? -Math.abs(v) : Math.abs(v)))));
}

// ---- the fused kernels (src/kernels/ref-fused.ts), written again from their contracts ----------
// Legend: T steps, B streams, H hidden, N rows, V words, C classes, O max-ent orders, S table
// entries; a class plan and a tree are read through their documented flat layouts.

/** murmur3's 32-bit finaliser in exact integer arithmetic (BigInt), not in 32-bit JS operations. */
export function fmix32(h: number): number {
  const M = 0xffffffffn;
  let x = BigInt(h >>> 0);
  x ^= x >> 16n;
  x = (x * 0x85ebca6bn) & M;
  x ^= x >> 13n;
  x = (x * 0xc2b2ae35n) & M;
  x ^= x >> 16n;
  return Number(x);
}

/** Dropout mask [n]: u(i) = fmix32(fmix32(i xor k0) xor k1); 0 where u(i) < ⌊p·2^32⌋ (at most 2^32 - 1), else 1/(1-p). */
export function dropoutMask(n: number, p: number, k0: number, k1: number): Float64Array {
  const threshold = Math.min(2 ** 32 - 1, Math.floor(p * 2 ** 32));
  return Float64Array.from({ length: n }, (_, i) => (fmix32((fmix32((i ^ k0) >>> 0) ^ k1) >>> 0) < threshold ? 0 : 1 / (1 - p)));
}

/** The Elman recurrence: block t+1 of Hs [(T+1)·B, H] becomes act(block t+1 + block t · W_hᵀ). */
export function elmanSeqForward(Hs0: Vec, WhT: Vec, T: number, B: number, H: number, a: 'sigmoid' | 'tanh' | 'relu'): Float64Array {
  const Hs = Float64Array.from(Hs0);
  const n = B * H;
  for (let t = 1; t <= T; t++) {
    const pre = gemm(Hs.subarray(t * n, (t + 1) * n), Hs.subarray((t - 1) * n, t * n), WhT, B, H, H, false, false, 1);
    Hs.set(act(pre, a), t * n);
  }
  return Hs;
}

/** Its backward: from the last step down, dh(t) = dA0(t) + da(t+1)·W_h (t < T-1), da(t) = dh(t) ⊙ act'(h(t)). */
export function elmanSeqBackward(dA0: Vec, Hs: Vec, Wh: Vec, T: number, B: number, H: number, a: 'sigmoid' | 'tanh' | 'relu'): Float64Array {
  const dA = Float64Array.from(dA0);
  const n = B * H;
  for (let t = T - 1; t >= 0; t--) {
    const own = dA.slice(t * n, (t + 1) * n);
    const dh = t < T - 1 ? gemm(own, dA.subarray((t + 1) * n, (t + 2) * n), Wh, B, H, H, false, false, 1) : own;
    const h = Float64Array.from({ length: n }, (_, i) => Hs[(t + 1) * n + i]);
    dA.set(actBackward(h, dh, a), t * n);
  }
  return dA;
}

/** Max-ent arguments: table [S], keys [R, O] (0xFFFFFFFF: absent), O. */
export interface DirectSpec {
  table: Vec;
  keys: Uint32Array;
  O: number;
}

/** Σ over the present keys of row `row` of table[(key + j) mod S]. */
export function directScore(d: DirectSpec, row: number, j: number): number {
  let s = 0;
  for (let a = 0; a < d.O; a++) {
    const key = d.keys[row * d.O + a];
    if (key !== 0xffffffff) s += d.table[(key + j) % d.table.length];
  }
  return s;
}

/** A class plan's flat layout: rowStart, wordStart, zStart [C+1], perm, tPos [N]. */
export function classPlanParts(C: number, N: number, data: ArrayLike<number>): { rowStart: number[]; wordStart: number[]; zStart: number[]; perm: number[]; tPos: number[] } {
  const part = (from: number, len: number): number[] => Array.from({ length: len }, (_, i) => data[from + i]);
  return { rowStart: part(0, C + 1), wordStart: part(C + 1, C + 1), zStart: part(2 * C + 2, C + 1), perm: part(3 * C + 3, N), tPos: part(3 * C + 3 + N, N) };
}

/**
 * The class softmax's word half: for sorted row p of class c, logits z_j = Hn[perm[p]]·U[w0+j] +
 * b2[w0+j] (+ max-ent score of row p, output j) over the class's s words; lp[p] = log softmax(z)[tPos[p]]
 * and dZ = (softmax(z) - onehot)·scale in the class's block at zStart[c]. (A one-word class: lp 0, dZ 0.)
 * logits: z itself (what the kernel leaves without grad; 0 in a one-word class's block).
 */
export function classWordsLoss(Hn: Vec, U: Vec, b2: Vec, C: number, N: number, data: ArrayLike<number>, H: number, scl: number, direct?: DirectSpec): { lp: Float64Array; dZ: Float64Array; logits: Float64Array } {
  const { rowStart, wordStart, zStart, perm, tPos } = classPlanParts(C, N, data);
  const lp = f64(N);
  const dZ = f64(zStart[C]);
  const logits = f64(zStart[C]); // the scores z (0 in a one-word class's block)
  for (let c = 0; c < C; c++) {
    const w0 = wordStart[c];
    const s = wordStart[c + 1] - w0;
    for (let p = rowStart[c]; p < rowStart[c + 1]; p++) {
      const z = Float64Array.from({ length: s }, (_, j) => {
        let v = b2[w0 + j] + (direct ? directScore(direct, p, j) : 0);
        for (let k = 0; k < H; k++) v += Hn[perm[p] * H + k] * U[(w0 + j) * H + k];
        return v;
      });
      const r = softmaxXent(z, Int32Array.of(tPos[p]), 1, s, scl);
      lp[p] = r.logProbs[0];
      dZ.set(r.dlogits, zStart[c] + (p - rowStart[c]) * s);
      if (s > 1) logits.set(z, zStart[c] + (p - rowStart[c]) * s);
    }
  }
  return { lp, dZ, logits };
}

/** Its backward: dHn[perm[p]] += Σ_j dZ·U[w0+j], dU[w0+j] += dZ·Hn[perm[p]], db2[w0+j] += dZ. */
export function classWordsBackward(dHn0: Vec, dU0: Vec, db0: Vec, dZ: Vec, Hn: Vec, U: Vec, C: number, N: number, data: ArrayLike<number>, H: number): { dHn: Float64Array; dU: Float64Array; db2: Float64Array } {
  const { rowStart, wordStart, zStart, perm } = classPlanParts(C, N, data);
  const [dHn, dU, db2] = [Float64Array.from(dHn0), Float64Array.from(dU0), Float64Array.from(db0)];
  for (let c = 0; c < C; c++) {
    const w0 = wordStart[c];
    const s = wordStart[c + 1] - w0;
    for (let p = rowStart[c]; p < rowStart[c + 1]; p++) {
      for (let j = 0; j < s; j++) {
        const g = dZ[zStart[c] + (p - rowStart[c]) * s + j];
        for (let k = 0; k < H; k++) {
          dHn[perm[p] * H + k] += g * U[(w0 + j) * H + k];
          dU[(w0 + j) * H + k] += g * Hn[perm[p] * H + k];
        }
        db2[w0 + j] += g;
      }
    }
  }
  return { dHn, dU, db2 };
}

/** Word w's path in a tree's flat layout (pathStart [V+1], pathNode [P], pathBit [P]): its inner nodes and bits. */
export function treePath(V: number, data: ArrayLike<number>, w: number): { nodes: number[]; bits: number[] } {
  const P = data[V];
  const nodes: number[] = [];
  const bits: number[] = [];
  for (let q = data[w]; q < data[w + 1]; q++) {
    nodes.push(data[V + 1 + q]);
    bits.push(data[V + 1 + P + q]);
  }
  return { nodes, bits };
}

/**
 * Hierarchical softmax: per row r, along the path of targets[r], s = Wn[n]·Hn[r] + bn[n] (+ max-ent
 * score of row r, output n); lp[r] = Σ log σ(bit ? s : -s); G holds (σ(s) - bit)·scale for the rows'
 * paths one after another (row r's from Σ_{r' < r} path lengths).
 */
export function hsLoss(Hn: Vec, Wn: Vec, bn: Vec, V: number, data: ArrayLike<number>, targets: ArrayLike<number>, N: number, H: number, scl: number, direct?: DirectSpec): { lp: Float64Array; G: Float64Array } {
  const lp = f64(N);
  const G: number[] = [];
  for (let r = 0; r < N; r++) {
    const { nodes, bits } = treePath(V, data, targets[r]);
    nodes.forEach((n, j) => {
      let s = bn[n] + (direct ? directScore(direct, r, n) : 0);
      for (let k = 0; k < H; k++) s += Wn[n * H + k] * Hn[r * H + k];
      lp[r] += Math.log(sigma(bits[j] ? s : -s));
      G.push((sigma(s) - bits[j]) * scl);
    });
  }
  return { lp, G: Float64Array.from(G) };
}

/** Its backward: dHn[r] = Σ_j G·Wn[n_j] (a fresh array), dWn[n] += G·Hn[r], dbn[n] += G. */
export function hsBackward(dWn0: Vec, dbn0: Vec, G: Vec, Hn: Vec, Wn: Vec, V: number, data: ArrayLike<number>, targets: ArrayLike<number>, N: number, H: number): { dHn: Float64Array; dWn: Float64Array; dbn: Float64Array } {
  const [dHn, dWn, dbn] = [f64(N * H), Float64Array.from(dWn0), Float64Array.from(dbn0)];
  let q = 0;
  for (let r = 0; r < N; r++) {
    for (const n of treePath(V, data, targets[r]).nodes) {
      const g = G[q++];
      for (let k = 0; k < H; k++) {
        dHn[r * H + k] += g * Wn[n * H + k];
        dWn[n * H + k] += g * Hn[r * H + k];
      }
      dbn[n] += g;
    }
  }
  return { dHn, dWn, dbn };
}

/**
 * The batch plan of the hierarchical softmax: rowOff [N+1] (cumulative path lengths) and the
 * node list M, nodes [M] (in the order rows first reach them), entStart [M+1], then per node its
 * entries (row, index into G) in increasing row order: entRow [E], entG [E].
 */
export function hsBatchPlan(V: number, data: ArrayLike<number>, targets: ArrayLike<number>, N: number): { rowOff: number[]; nodeList: number[] } {
  const rowOff = [0];
  const entries = new Map<number, Array<[number, number]>>(); // node -> [row, G index], in insertion order
  for (let r = 0; r < N; r++) {
    const { nodes } = treePath(V, data, targets[r]);
    nodes.forEach((n, j) => {
      if (!entries.has(n)) entries.set(n, []);
      entries.get(n)!.push([r, rowOff[r] + j]);
    });
    rowOff.push(rowOff[r] + nodes.length);
  }
  const nodes = [...entries.keys()];
  const entStart = [0];
  for (const n of nodes) entStart.push(entStart[entStart.length - 1] + entries.get(n)!.length);
  const all = nodes.flatMap((n) => entries.get(n)!);
  return { rowOff, nodeList: [nodes.length, ...nodes, ...entStart, ...all.map((e) => e[0]), ...all.map((e) => e[1])] };
}

/** A sparse table gradient: dense values g [S] and the touched indices in first-touch order. */
export interface SparseSpec {
  g: Float64Array;
  list: number[];
}

function touch(sg: SparseSpec, idx: number, v: number): void {
  if (!sg.list.includes(idx)) sg.list.push(idx);
  sg.g[idx] += v;
}

/** Z[r, j] (row stride ld) + Σ_a table[(keys[r, a] + j) mod S] for r < R, j < n; other elements as they were. */
export function directAdd(Z0: Vec, ld: number, d: DirectSpec, R: number, n: number): Float64Array {
  const Z = Float64Array.from(Z0);
  for (let r = 0; r < R; r++) for (let j = 0; j < n; j++) Z[r * ld + j] += directScore(d, r, j);
  return Z;
}

/** g[(keys[r, a] + j) mod S] += dZ[r, j]: rows, orders, outputs, in that order (which fixes the list's order). */
export function directGrad(S: number, dZ: Vec, ld: number, keys: Uint32Array, O: number, R: number, n: number): SparseSpec {
  const sg: SparseSpec = { g: f64(S), list: [] };
  for (let r = 0; r < R; r++) {
    for (let a = 0; a < O; a++) {
      const key = keys[r * O + a];
      if (key !== 0xffffffff) for (let j = 0; j < n; j++) touch(sg, (key + j) % S, dZ[r * ld + j]);
    }
  }
  return sg;
}

/** The same over the class softmax's word scores: classes, their sorted rows p (keys of row p), orders, words. */
export function directGradClassWords(S: number, dZ: Vec, C: number, N: number, data: ArrayLike<number>, keys: Uint32Array, O: number): SparseSpec {
  const { rowStart, wordStart, zStart } = classPlanParts(C, N, data);
  const sg: SparseSpec = { g: f64(S), list: [] };
  for (let c = 0; c < C; c++) {
    const s = wordStart[c + 1] - wordStart[c];
    if (s === 1) continue; // a one-word class has no word score
    for (let p = rowStart[c]; p < rowStart[c + 1]; p++) {
      for (let a = 0; a < O; a++) {
        const key = keys[p * O + a];
        if (key !== 0xffffffff) for (let j = 0; j < s; j++) touch(sg, (key + j) % S, dZ[zStart[c] + (p - rowStart[c]) * s + j]);
      }
    }
  }
  return sg;
}

/** The same over hierarchical-softmax node scores: rows, orders, the nodes of the row's path (G as hsLoss lays it out). */
export function directGradHs(S: number, G: Vec, V: number, data: ArrayLike<number>, targets: ArrayLike<number>, keys: Uint32Array, O: number, N: number): SparseSpec {
  const sg: SparseSpec = { g: f64(S), list: [] };
  let q0 = 0;
  for (let r = 0; r < N; r++) {
    const { nodes } = treePath(V, data, targets[r]);
    for (let a = 0; a < O; a++) {
      const key = keys[r * O + a];
      if (key !== 0xffffffff) nodes.forEach((n, j) => touch(sg, (key + n) % S, G[q0 + j]));
    }
    q0 += nodes.length;
  }
  return sg;
}

/**
 * One sparse step on the touched entries i (g = gs·grad[i]): sgd w -= lr·g; adam m = β1 m + (1-β1) g,
 * v = β2 v + (1-β2) g², w -= lr·(m/c1) / (√(v/c2) + eps); adagrad m += g², w -= lr·g / (√m + eps).
 */
export function sparseUpdate(
  grad: Vec, list: number[], w0: Vec, m0: Vec, v0: Vec,
  st: { kind: 'sgd' | 'adam' | 'adagrad'; gs: number; lr: number; beta1: number; beta2: number; eps: number; c1: number; c2: number },
): { w: Float64Array; m: Float64Array; v: Float64Array } {
  const [w, m, v] = [Float64Array.from(w0), Float64Array.from(m0), Float64Array.from(v0)];
  for (const i of list) {
    const g = st.gs * grad[i];
    if (st.kind === 'sgd') {
      w[i] = w[i] - st.lr * g;
    } else if (st.kind === 'adam') {
      m[i] = st.beta1 * m[i] + (1 - st.beta1) * g;
      v[i] = st.beta2 * v[i] + (1 - st.beta2) * g ** 2;
      w[i] = w[i] - (st.lr * (m[i] / st.c1)) / (Math.sqrt(v[i] / st.c2) + st.eps);
    } else {
      m[i] = m[i] + g ** 2;
      w[i] = w[i] - (st.lr * g) / (Math.sqrt(m[i]) + st.eps);
    }
  }
  return { w, m, v };
}

/** Σ x² over rows[0..count) of x [·, width]. */
export function sumSquaresRows(x: Vec, width: number, rows: ArrayLike<number>, count: number): number {
  let s = 0;
  for (let q = 0; q < count; q++) for (let c = 0; c < width; c++) s += x[rows[q] * width + c] ** 2;
  return s;
}

/** rowsOp on rows[0..count) of w [·, width] (g, s alike): scale w·a; zero; sgd w - a·g; adagrad s + g², w - a·g/(√s' + eps). */
export function rowsOp(op: 'scale' | 'zero' | 'sgd' | 'adagrad', w0: Vec, g: Vec, s0: Vec, a: number, eps: number, width: number, rows: ArrayLike<number>, count: number): { w: Float64Array; s: Float64Array } {
  const [w, s] = [Float64Array.from(w0), Float64Array.from(s0)];
  for (let q = 0; q < count; q++) {
    for (let c = 0; c < width; c++) {
      const i = rows[q] * width + c;
      if (op === 'scale') w[i] = w0[i] * a;
      else if (op === 'zero') w[i] = 0;
      else if (op === 'sgd') w[i] = w0[i] - a * g[i];
      else {
        s[i] = s0[i] + g[i] ** 2;
        w[i] = w0[i] - (a * g[i]) / (Math.sqrt(s[i]) + eps);
      }
    }
  }
  return { w, s };
}
