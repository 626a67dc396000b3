// Hierarchical softmax (Morin & Bengio 2005; Mikolov et al.'s word2vec and faster-rnnlm's
// output layer), exact:
//   a binary tree whose V leaves are the words and whose V-1 inner nodes n carry a vector v_n
//   (a row of hs.weight [V-1, H]) and a bias b_n (hs.bias [V-1]);
//   P(w | h) = Π_j σ(±(v_{n_j} · h + b_{n_j}))  over the inner nodes n_0 (root) … n_{L-1} on the
//   path from the root to w, + where the path turns right (code bit 1), − where it turns left.
// At each node the two branches' probabilities add up to 1, so the leaves' do too: a proper
// distribution over the vocabulary (tested), and perplexity stays exact. The loss of a token is
// J = -Σ_j log σ(±s_j), dJ/ds_j = σ(s_j) - bit_j, so a token costs H·L (L ≈ log2 V) per product
// instead of H·V. The tree is Huffman's over the training counts (frequent words get short paths;
// the mean path length is within a bit of the unigram entropy: 9.4 bits on PTB).
// Legend: N = T·B rows, H hidden, V words, L a path's length, P = Σ_w L_w.
//
// The tree is stored as `children` [2(V-1)]: children[2i] / children[2i+1] are the left (bit 0)
// and right (bit 1) child of inner node i; a value c ≥ 0 is inner node c, c < 0 is word -c-1.
// Inner node 0 is the root and the nodes are numbered breadth-first, so the nodes every token
// visits are the first rows of hs.weight.

import { ConfigError } from '../errors.js';
import type { Arr, Kernels } from '../kernels/kernels.js';
import { hsBatchPlan, type DirectArgs, type HsBatch, type HsPlanBuffers, type HsTree } from '../kernels/ref-fused.js';
import type { Alloc } from './recurrent.js';

/** Deepest path a tree may have (a Huffman tree over 2^53 tokens is shallower; bounds P ≤ 255·V). */
export const MAX_DEPTH = 255;

/**
 * Huffman's tree over the counts [V] (V ≥ 2): repeatedly join the two lightest of the words and
 * the trees built so far (ties: words before trees, then lower id / earlier tree), the lighter
 * as the left child. Returns children [2(V-1)] numbered breadth-first from the root (see above).
 */
export function buildHuffmanTree(counts: ArrayLike<number>): Int32Array {
  const V = counts.length;
  if (V < 2) throw new ConfigError(`a hierarchical softmax needs a vocabulary of at least 2 words, got ${V}`);
  for (let w = 0; w < V; w++) {
    const c = counts[w];
    if (!(c >= 0 && Number.isFinite(c))) throw new ConfigError(`unigram count of word ${w} must be a finite number ≥ 0, got ${c}`);
  }
  const leaves = Array.from({ length: V }, (_, w) => w).sort((a, b) => counts[a] - counts[b] || a - b);
  // Two queues: leaves by weight, and inner nodes in creation order (their weights never decrease).
  const weight = new Float64Array(V - 1);
  const kids = new Int32Array(2 * (V - 1)); // in creation order; children coded as below
  let li = 0;
  let ni = 0;
  let made = 0;
  const take = (): number => {
    // a word w is coded -w-1, an inner node (creation index) i as i
    if (li < V && (ni >= made || counts[leaves[li]] <= weight[ni])) return -leaves[li++] - 1;
    return ni++;
  };
  const weightOf = (c: number): number => (c < 0 ? counts[-c - 1] : weight[c]);
  for (; made < V - 1; made++) {
    const a = take();
    const b = take();
    kids[2 * made] = a;
    kids[2 * made + 1] = b;
    weight[made] = weightOf(a) + weightOf(b);
  }
  // Renumber breadth-first from the root (the last node made).
  const order = new Int32Array(V - 1); // BFS position → creation index
  const pos = new Int32Array(V - 1); // creation index → BFS position
  order[0] = V - 2;
  let head = 0;
  let tail = 1;
  while (head < tail) {
    const i = order[head++];
    for (const c of [kids[2 * i], kids[2 * i + 1]]) if (c >= 0) order[tail++] = c;
  }
  for (let q = 0; q < V - 1; q++) pos[order[q]] = q;
  const children = new Int32Array(2 * (V - 1));
  for (let q = 0; q < V - 1; q++) {
    const i = order[q];
    for (let side = 0; side < 2; side++) {
      const c = kids[2 * i + side];
      children[2 * q + side] = c < 0 ? c : pos[c];
    }
  }
  return children;
}

/**
 * Throws ConfigError unless `children` describes a binary tree with root 0 over exactly V leaves:
 * 2(V-1) integers, every inner node but the root and every word a child exactly once, every
 * inner node reachable from the root (so no cycles), no path deeper than MAX_DEPTH.
 */
export function validateHsTree(children: ArrayLike<number>, V: number, where = 'hs tree'): void {
  if (!Number.isInteger(V) || V < 2) throw new ConfigError(`${where}: a hierarchical softmax needs a vocabulary of at least 2 words, got ${V}`);
  if (children.length !== 2 * (V - 1)) throw new ConfigError(`${where}: ${children.length} child entries for a vocabulary of ${V} (expected 2·(V-1) = ${2 * (V - 1)})`);
  const nodeSeen = new Uint8Array(V - 1);
  const wordSeen = new Uint8Array(V);
  for (let e = 0; e < children.length; e++) {
    const c = children[e];
    const at = `child ${e % 2 ? 'right' : 'left'} of inner node ${e >> 1}`;
    if (!Number.isInteger(c) || c < -V || c >= V - 1) throw new ConfigError(`${where}: ${at} is ${c}, expected an inner node from 1 to ${V - 2} or a word -1 … -${V}`);
    if (c === 0) throw new ConfigError(`${where}: ${at} is the root (node 0)`);
    if (c > 0) {
      if (nodeSeen[c]) throw new ConfigError(`${where}: inner node ${c} has two parents`);
      nodeSeen[c] = 1;
    } else {
      if (wordSeen[-c - 1]) throw new ConfigError(`${where}: word ${-c - 1} is a leaf twice`);
      wordSeen[-c - 1] = 1;
    }
  }
  // Every word is a leaf once (2(V-1) entries, V-2 inner nodes once each, so V words once each).
  const missing = wordSeen.indexOf(0);
  if (missing >= 0) throw new ConfigError(`${where}: word ${missing} is not a leaf of the tree`);
  // Reachability from the root: with one parent each, unreachable nodes would form a cycle.
  const depth = new Int32Array(V - 1).fill(-1);
  depth[0] = 0;
  const stack = [0];
  let reached = 0;
  while (stack.length > 0) {
    const i = stack.pop()!;
    reached++;
    if (depth[i] + 1 > MAX_DEPTH) throw new ConfigError(`${where}: paths deeper than ${MAX_DEPTH} nodes (at inner node ${i})`);
    for (const c of [children[2 * i], children[2 * i + 1]]) {
      if (c > 0) {
        depth[c] = depth[i] + 1;
        stack.push(c);
      }
    }
  }
  if (reached !== V - 1) throw new ConfigError(`${where}: ${V - 1 - reached} inner node(s) are not reachable from the root (a cycle)`);
}

/** Each word's path: the flat HsTree layout (pathStart [V+1], pathNode [P], pathBit [P]). */
export function treePaths(children: ArrayLike<number>, V: number): HsTree {
  validateHsTree(children, V);
  const nodes: number[][] = new Array(V);
  const bits: number[][] = new Array(V);
  // (the field is `inner`, not `node`: a bundle must not contain the text "node:", see test/web-build)
  const stack: Array<{ inner: number; path: number[]; code: number[] }> = [{ inner: 0, path: [0], code: [] }];
  while (stack.length > 0) {
    const { inner: node, path, code } = stack.pop()!;
    for (let side = 0; side < 2; side++) {
      const c = children[2 * node + side];
      if (c < 0) {
        nodes[-c - 1] = path;
        bits[-c - 1] = [...code, side];
      } else {
        stack.push({ inner: c, path: [...path, c], code: [...code, side] });
      }
    }
  }
  let P = 0;
  for (let w = 0; w < V; w++) P += nodes[w].length;
  const data = new Int32Array(V + 1 + 2 * P);
  for (let w = 0, q = 0; w < V; w++) {
    data[w] = q;
    for (let j = 0; j < nodes[w].length; j++, q++) {
      data[V + 1 + q] = nodes[w][j];
      data[V + 1 + P + q] = bits[w][j];
    }
  }
  data[V] = P;
  return { V, data };
}

/** The output layer's tensors (or their gradients). */
export interface HsWeights {
  Wn: Arr; // [V-1, H] hs.weight
  bn: Arr; // [V-1] hs.bias
}

export class HsOutput {
  readonly V: number;
  readonly H: number;
  /** The tree as stored in checkpoints (see the top of the file). */
  readonly children: Int32Array;
  /** Each word's path (flat, for the kernels). */
  readonly tree: HsTree;
  private readonly alloc: Alloc;
  private w!: HsWeights;
  private g!: HsWeights;
  private G: Arr; // [Σ path lengths of the batch's targets] dJ/ds per (row, node)
  private lp = new Float64Array(0);
  private scores: Arr; // [N, V-1] node scores of logProbs
  private readonly planBuf: HsPlanBuffers; // the batch plan's arrays, reused (in kernel memory)
  private batch: HsBatch | null = null;
  private N = 0;
  private hasGrad = false;

  constructor(children: ArrayLike<number>, H: number, alloc: Alloc, allocI32: (n: number) => Int32Array = (n) => new Int32Array(n)) {
    const V = children.length / 2 + 1;
    const paths = treePaths(children, V);
    // in the kernels' memory, where they read it in place
    const data = allocI32(paths.data.length);
    data.set(paths.data);
    this.tree = { V, data };
    this.children = Int32Array.from(children);
    this.V = V;
    this.H = H;
    this.alloc = alloc;
    this.G = alloc(0);
    this.scores = alloc(0);
    this.planBuf = {
      slot: new Int32Array(V - 1), nodes: new Int32Array(V - 1), count: new Int32Array(V - 1),
      targets: allocI32(0), rowOff: allocI32(0), list: allocI32(0), grow: allocI32,
    };
  }

  bind(w: HsWeights, g: HsWeights): void {
    this.w = w;
    this.g = g;
  }

  /** Path length of word w. */
  depth(w: number): number {
    const d = this.tree.data;
    return d[w + 1] - d[w];
  }

  /**
   * Σ_rows -log P(target | h) (float64) for Hn [N, H] and targets [N]; logProbs[r] = log P(target_r).
   * With grad, keeps dJ/ds = (σ(s) - bit) · scale per (row, node) for backward. direct: max-ent
   * scores (keys [N, O]) added to each node's score.
   */
  loss(k: Kernels, Hn: Arr, targets: Int32Array, N: number, grad: boolean, scale: number, logProbs?: Float64Array, direct?: DirectArgs): number {
    const { V } = this;
    for (let r = 0; r < N; r++) {
      const y = targets[r];
      if (!(y >= 0 && y < V)) throw new RangeError(`hierarchical softmax: target ${y} at row ${r} is outside [0, ${V})`);
    }
    const batch = hsBatchPlan(this.tree, targets, N, this.planBuf.slot, this.planBuf);
    const E = batch.rowOff[N];
    if (this.G.length < E) this.G = this.alloc(Math.max(E, 2 * this.G.length));
    if (this.lp.length < N) this.lp = new Float64Array(N);
    const lp = this.lp.subarray(0, N);
    k.hsLoss(lp, this.G, Hn, this.w.Wn, this.w.bn, this.tree, batch, N, this.H, grad, scale, direct);
    let nll = 0;
    for (let r = 0; r < N; r++) nll -= lp[r];
    if (logProbs) logProbs.set(lp);
    this.batch = batch;
    this.N = N;
    this.hasGrad = grad;
    return nll;
  }

  /** The gradients dJ/ds of the last loss(grad) per (row, node), and its batch (for max-ent). */
  lastGrad(): { G: Arr; batch: HsBatch; N: number } {
    if (!this.hasGrad || !this.batch) throw new Error('HsOutput.lastGrad needs loss(grad = true) first');
    return { G: this.G, batch: this.batch, N: this.N };
  }

  /** After loss(grad = true): adds into dWn, dbn and overwrites dHn [N, H] with dJ/dHn. */
  backward(k: Kernels, dHn: Arr, Hn: Arr): void {
    if (!this.hasGrad || !this.batch) throw new Error('HsOutput.backward needs loss(grad = true) first');
    k.hsBackward(dHn, this.g.Wn, this.g.bn, this.G, Hn, this.w.Wn, this.tree, this.batch, this.N, this.H);
    this.hasGrad = false;
  }

  /**
   * Full log-probabilities out [N, V] (word order), for sampling and inspection: every inner
   * node's score (one [N, H]·[H, V-1] product), then each word's sum along its path (V·L per row).
   * nodeScores: the max-ent scores to add per (row, node), [N, V-1], if any.
   */
  logProbs(k: Kernels, out: Arr, Hn: Arr, N: number, nodeScores?: Arr): void {
    const { V, H } = this;
    if (this.scores.length < N * (V - 1)) this.scores = this.alloc(N * (V - 1));
    const S = this.scores;
    k.gemm(S, Hn, this.w.Wn, N, V - 1, H, false, true, 0);
    k.addBias(S, this.w.bn, N, V - 1);
    const d = this.tree.data;
    const P = d[V];
    const logSig = (x: number): number => -(Math.max(-x, 0) + Math.log1p(Math.exp(-Math.abs(x))));
    for (let r = 0; r < N; r++) {
      const s = r * (V - 1);
      for (let w = 0; w < V; w++) {
        let lp = 0;
        for (let q = d[w]; q < d[w + 1]; q++) {
          const node = d[V + 1 + q];
          const x = S[s + node] + (nodeScores ? nodeScores[s + node] : 0);
          lp += logSig(d[V + 1 + P + q] ? x : -x);
        }
        out[r * V + w] = lp;
      }
    }
    this.hasGrad = false;
  }
}
