// The recurrent language model of the notes, as one object:
//   e(t) = E x(t);  h_l(t) = cell_l(h_{l-1}(t), state_l(t-1));  yhat(t) = softmax(U h_L(t) + b2)
// with cell = Elman (the notes' sigmoid network; tanh, relu), LSTM or GRU (recurrent.ts), optional
// dropout on the non-recurrent connections (dropout.ts), optional weight tying (U = E) and an
// output layer other than the full softmax: class-factored (classes.ts) or hierarchical
// (hsoftmax.ts), and optional max-ent direct connections into the output scores (direct.ts).
// Parameters live in one arena (`params`), gradients in another with the same layout (`grads`),
// named as PyTorch's word_language_model names them, so checkpoints load there unchanged. The
// max-ent table is the exception: it is trained sparsely, so it lives beside the arena
// (`direct`), with a sparse gradient.
// A class-factored model keeps the vocabulary rows of decoder.weight / decoder.bias (and of
// encoder.weight when tied) in class order (ClassOutput.order); tensor() / setTensor() read and
// write them in vocabulary order, as checkpoints store them.
// Legend: T steps, B batch, N = T·B rows, L layers, Emb embedding, H hidden, V vocab, C classes,
// S state width per layer (H; 2H for LSTM), O max-ent orders.

import type { Arr, Kernels } from '../kernels/kernels.js';
import { ConfigError } from '../errors.js';
import { Rng } from '../rng.js';
import { Layout, type Precision, type ParamSpec } from './arena.js';
import { ClassOutput, type ClassDirect } from './classes.js';
import { isElmanCell, type Cell, type ModelConfig } from './config.js';
import { advanceHistory, contextHashes, directKey, newDirectTable, type DirectTable } from './direct.js';
import { HsOutput } from './hsoftmax.js';
import { dropoutBackward, dropoutForward, dropoutMask } from './dropout.js';
import { embeddingBackward, embeddingForward } from './embedding.js';
import { outputBackward, outputForward, outputLoss } from './output.js';
import type { UnboundLayer } from './recurrent.js';
import { ElmanLayer } from './elman.js';
import { GruLayer } from './gru.js';
import { LstmLayer } from './lstm.js';

/** Layer l of a stack of `cell` layers, I → H (weights bound later, by the model). */
export function makeLayer(cell: Cell, l: number, I: number, H: number, opts: { forgetBias?: number; identityInput?: boolean } = {}): UnboundLayer {
  if (isElmanCell(cell)) return new ElmanLayer(l, I, H, cell, opts.identityInput ?? false);
  if (cell === 'lstm') return new LstmLayer(l, I, H, opts.forgetBias ?? 0);
  return new GruLayer(l, I, H);
}

/** The model's recurrent layers, unbound (for their specs and state widths). */
function layersOf(c: ModelConfig): UnboundLayer[] {
  const out: UnboundLayer[] = [];
  for (let l = 0; l < c.layers; l++) {
    out.push(makeLayer(c.cell, l, l === 0 ? c.embed : c.hidden, c.hidden, { forgetBias: c.forgetBias, identityInput: l === 0 && c.foldInput }));
  }
  return out;
}

/**
 * Tensor names and shapes of the parameter arena, in arena order. With tied weights,
 * decoder.weight is not in the arena (it is encoder.weight); see `checkpointSpecs`.
 */
export function modelSpecs(c: ModelConfig): ParamSpec[] {
  const specs: ParamSpec[] = [{ name: 'encoder.weight', shape: [c.vocabSize, c.embed] }];
  for (const layer of layersOf(c)) specs.push(...layer.specs());
  if (c.output === 'hs') {
    specs.push({ name: 'hs.weight', shape: [c.vocabSize - 1, c.hidden] }, { name: 'hs.bias', shape: [c.vocabSize - 1] });
    return specs;
  }
  if (!c.tied) specs.push({ name: 'decoder.weight', shape: [c.vocabSize, c.hidden] });
  specs.push({ name: 'decoder.bias', shape: [c.vocabSize] });
  if (c.classes > 0) specs.push({ name: 'class_decoder.weight', shape: [c.classes, c.hidden] }, { name: 'class_decoder.bias', shape: [c.classes] });
  return specs;
}

/** A tensor of a checkpoint and the arena block that holds its values. */
export interface CheckpointSpec extends ParamSpec {
  /** Arena tensor holding the values: the name itself, or encoder.weight for a tied decoder.weight. */
  readonly storage: string;
}

/**
 * Every tensor a checkpoint holds, in PyTorch state_dict order: a tied model's file holds both
 * encoder.weight and decoder.weight (equal values), as torch's tied state_dict does.
 */
export function checkpointSpecs(c: ModelConfig): CheckpointSpec[] {
  const out: CheckpointSpec[] = [];
  for (const s of modelSpecs(c)) {
    if (c.tied && s.name === 'decoder.bias') out.push({ name: 'decoder.weight', shape: [c.vocabSize, c.hidden], storage: 'encoder.weight' });
    // a folded input's W_e = I, stored so that torch.nn.RNN loads the file unchanged
    if (c.foldInput && s.name === 'rnn.weight_hh_l0') out.push({ name: 'rnn.weight_ih_l0', shape: [c.hidden, c.hidden], storage: 'rnn.weight_ih_l0' });
    out.push({ ...s, storage: s.name });
  }
  // the max-ent table, beside the arena
  if (c.direct > 0) out.push({ name: 'direct.weight', shape: [c.direct], storage: 'direct.weight' });
  return out;
}

/** Width S of one layer's carried state per stream: H (Elman, GRU: h) or 2H (LSTM: h, c). */
export function stateWidth(c: ModelConfig): number {
  return c.cell === 'lstm' ? 2 * c.hidden : c.hidden;
}

/**
 * Where the gradient arena can be non-zero since the last zeroGrad: whole ranges [start, end),
 * and row-sparse blocks (the embedding rows of the inputs, the inner nodes the targets' paths
 * visited) with their touched rows. Clipping, SGD / Adagrad and zeroGrad visit only these.
 */
export interface GradRegions {
  dense: ReadonlyArray<readonly [number, number]>;
  rows: ReadonlyArray<{ offset: number; size: number; width: number; rows: Int32Array; count: number }>;
}

/** A row-sparse block of the arena and the rows touched since the last zeroGrad. */
interface RowBlock {
  offset: number;
  size: number;
  width: number;
  mark: Uint8Array; // [rows] 1 = in list
  list: Int32Array; // [rows] touched rows, first-touch order
  count: number;
}

interface Views {
  E: Arr; // [V, Emb]
  U: Arr; // [V, H] (E itself when tied; unused by a hierarchical softmax)
  b2: Arr; // [V]
}

interface Workspace {
  rows: number; // capacity in rows N
  batch: number; // capacity in B
  x: Int32Array; // [N] input ids of the last forward
  xRow: Int32Array; // [N] their rows of encoder.weight (x itself unless a tied class model keeps class order)
  emb: Arr; // [N, Emb]
  ctx: Uint32Array; // [N, O] max-ent context hashes of the last forward
  keys: Uint32Array; // [N, O] their table starts for the full softmax / hierarchical softmax
  caches: unknown[]; // per layer
  /** Dropout: per site s = 0..L (0: embeddings, l: below layer l, L: below the output) mask and dropped copy [N, width]. */
  masks: Arr[];
  dropped: Arr[];
  logits: Arr | null; // [N, V], dlogits after loss(grad); log-probabilities for class / hs models (allocated when first needed)
  dPing: Arr; // [N, max(Emb, H)]: the gradient flowing down, alternating with dPong
  dPong: Arr; // [N, max(Emb, H)]
  T: number; // shape of the last forward
  B: number;
  top: Arr | null; // the output layer's input [N, H] of the last forward
  train: boolean; // the last forward drew dropout masks
}

export interface ModelOptions {
  /** 'f32' (default) for training and inference; 'f64' for gradient checks. */
  dtype?: Precision;
  /**
   * Class-factored softmax (config.classes = C > 0): the class of each word id [V], each in
   * [0, C) and every class used — from `assignClasses(unigramCounts(trainIds, V), C)`, or read
   * from a checkpoint's "classes" metadata.
   */
  wordClasses?: ArrayLike<number>;
  /**
   * Hierarchical softmax (config.output 'hs'): the tree as children [2(V-1)] (hsoftmax.ts) —
   * from `buildHuffmanTree(unigramCounts(trainIds, V))`, or a checkpoint's "hs_tree" metadata.
   */
  hsTree?: ArrayLike<number>;
}

export interface ForwardOptions {
  /** Training: draw dropout masks (when config.dropout > 0) from `rng`. Default false (evaluation). */
  train?: boolean;
  /** The seeded stream dropout masks are drawn from (the trainer's, saved for resume). */
  rng?: Rng;
  /**
   * Whether the caller reads the returned [N, V] logits (default: true except in training).
   * A full-softmax model computes them anyway; a class-factored model computes log-probabilities
   * (usable as logits) only when asked, since its loss needs just H·(C + V/C) per row.
   */
  logits?: boolean;
}

export interface BackwardOptions {
  /**
   * Backpropagate the loss of step t alone, J(t) (0-based step of the last forward): the
   * output's gradient into h(s), s ≠ t, is dropped. The output layer's own parameter
   * gradients still hold every step's. For the BPTT probe (bptt-probe.ts).
   */
  onlyStep?: number;
  /** Told dJ/dh(t) [B, H] of layer l at each step t once complete (descending t); see GradHObserver. */
  onGradH?: (l: number, t: number, dh: Arr) => void;
}

export class RnnLM {
  readonly config: ModelConfig;
  readonly kernels: Kernels;
  readonly dtype: Precision;
  readonly layout: Layout;
  /** All parameters, laid out by `layout`. */
  readonly params: Arr;
  /** Gradients, same layout; backward adds into them, zeroGrad clears them. */
  readonly grads: Arr;
  /** The recurrent layers, bottom first. */
  readonly layers: readonly UnboundLayer[];
  /** Scalars of carried state per layer and stream (H, or 2H for LSTM). */
  readonly stateWidth: number;
  /** The class-factored output (config.classes > 0), else null. */
  readonly classOutput: ClassOutput | null;
  /** The hierarchical softmax (config.output 'hs'), else null. */
  readonly hsOutput: HsOutput | null;
  /** The max-ent table with its sparse gradient (config.direct > 0), else null. */
  readonly direct: DirectTable | null;
  /**
   * Word at each internal row of the vocabulary-row tensors (decoder.*, and encoder.weight when
   * tied), when that is not the identity (a class-factored model keeps class order); else null.
   */
  readonly rowOrder: Int32Array | null;
  /** Row-sparse gradient blocks (encoder.weight unless tied, hs.weight). */
  private readonly rowBlocks: RowBlock[] = [];
  private readonly denseRanges: Array<readonly [number, number]> = [];
  private readonly w: Views;
  private readonly g: Views;
  private ws: Workspace | null = null;

  constructor(config: ModelConfig, kernels: Kernels, opts: ModelOptions = {}) {
    this.config = config;
    this.kernels = kernels;
    this.dtype = opts.dtype ?? 'f32';
    this.layout = new Layout(modelSpecs(config));
    this.params = this.alloc(this.layout.size);
    this.grads = this.alloc(this.layout.size);
    this.w = this.views(this.params);
    this.g = this.views(this.grads);
    const layers = layersOf(config);
    for (const layer of layers) layer.bind((n) => this.layout.view(this.params, n), (n) => this.layout.view(this.grads, n));
    this.layers = layers;
    this.stateWidth = stateWidth(config);
    if (config.classes > 0) {
      if (!opts.wordClasses) {
        throw new ConfigError(`a class-factored model (classes ${config.classes}) needs the class of each word: pass wordClasses, e.g. assignClasses(unigramCounts(trainIds, ${config.vocabSize}), ${config.classes})`);
      }
      const co = new ClassOutput(opts.wordClasses, config.classes, config.hidden, (n) => this.alloc(n), (n) => this.allocI32(n));
      const cv = (buf: Arr, v: Views) => ({ U: v.U, b2: v.b2, Wc: this.layout.view(buf, 'class_decoder.weight'), bc: this.layout.view(buf, 'class_decoder.bias') });
      co.bind(cv(this.params, this.w), cv(this.grads, this.g));
      this.classOutput = co;
    } else {
      if (opts.wordClasses) throw new ConfigError('wordClasses given for a model without a class-factored softmax (config classes 0)');
      this.classOutput = null;
    }
    this.rowOrder = this.classOutput && !this.classOutput.identity ? this.classOutput.order : null;
    if (config.output === 'hs') {
      if (!opts.hsTree) {
        throw new ConfigError(`a hierarchical-softmax model needs its tree: pass hsTree, e.g. buildHuffmanTree(unigramCounts(trainIds, ${config.vocabSize}))`);
      }
      const hs = new HsOutput(opts.hsTree, config.hidden, (n) => this.alloc(n), (n) => this.allocI32(n));
      if (hs.V !== config.vocabSize) throw new ConfigError(`the hierarchical softmax's tree has ${hs.V} leaves, the vocabulary ${config.vocabSize} words`);
      const hv = (buf: Arr) => ({ Wn: this.layout.view(buf, 'hs.weight'), bn: this.layout.view(buf, 'hs.bias') });
      hs.bind(hv(this.params), hv(this.grads));
      this.hsOutput = hs;
    } else {
      if (opts.hsTree) throw new ConfigError(`hsTree given for a model without a hierarchical softmax (config output ${config.output})`);
      this.hsOutput = null;
    }
    this.direct = config.direct > 0
      ? newDirectTable(config.direct, config.directOrder, (n) => this.alloc(n), (n) => this.allocI32(n), (n) => this.allocU8(n))
      : null;
    // Row-sparse gradients: a batch touches few rows of the embedding (unless tied: the decoder
    // touches all) and of the hierarchical softmax's node vectors
    const blocks = [
      ...(config.tied ? [] : [{ name: 'encoder.weight', width: config.embed }]),
      ...(config.output === 'hs' ? [{ name: 'hs.weight', width: config.hidden }] : []),
    ];
    let start = 0;
    for (const b of blocks) {
      const o = this.layout.offsets.get(b.name)!;
      const rows = o.size / b.width;
      this.rowBlocks.push({ offset: o.offset, size: o.size, width: b.width, mark: new Uint8Array(rows), list: this.allocI32(rows), count: 0 });
      if (o.offset > start) this.denseRanges.push([start, o.offset]);
      start = o.offset + o.size;
    }
    if (start < this.layout.size) this.denseRanges.push([start, this.layout.size]);
  }

  /** Record rows [n] of row block b as touched. */
  private touchRows(b: RowBlock, rows: ArrayLike<number>, n: number, from = 0): void {
    for (let i = from; i < from + n; i++) {
      const r = rows[i];
      if (b.mark[r] === 0) {
        b.mark[r] = 1;
        b.list[b.count++] = r;
      }
    }
  }

  /** Where the gradient can be non-zero since the last zeroGrad (see GradRegions). */
  gradRegions(): GradRegions {
    return {
      dense: this.denseRanges,
      rows: this.rowBlocks.map((b) => ({ offset: b.offset, size: b.size, width: b.width, rows: b.list, count: b.count })),
    };
  }

  /** A zeroed buffer of this model's dtype, usable by its kernels without copying. */
  alloc(n: number): Arr {
    return this.dtype === 'f64' ? new Float64Array(n) : this.kernels.alloc(n);
  }

  /** A zeroed i32 buffer in the kernels' memory (plans, trees, lists the kernels read in place). */
  allocI32(n: number): Int32Array {
    if (this.dtype === 'f64') return new Int32Array(n);
    const f = this.kernels.alloc(n);
    return new Int32Array(f.buffer, f.byteOffset, n);
  }

  /** A zeroed byte buffer in the kernels' memory. */
  allocU8(n: number): Uint8Array {
    if (this.dtype === 'f64') return new Uint8Array(n);
    const f = this.kernels.alloc(Math.ceil(n / 4));
    return new Uint8Array(f.buffer, f.byteOffset, n);
  }

  private views(buf: Arr): Views {
    const L = this.layout;
    const E = L.view(buf, 'encoder.weight');
    if (this.config.output === 'hs') return { E, U: E.subarray(0, 0), b2: E.subarray(0, 0) }; // no decoder
    return { E, U: this.config.tied ? E : L.view(buf, 'decoder.weight'), b2: L.view(buf, 'decoder.bias') };
  }

  /**
   * The named parameter tensor as stored (a view into `params`; a tied decoder.weight is
   * encoder.weight; direct.weight is the max-ent table). Rows of vocabulary-row tensors are in
   * the model's row order (see rowOrder): use tensor() for vocabulary order.
   */
  param(name: string): Arr {
    if (name === 'direct.weight' && this.direct) return this.direct.weight;
    if (this.config.tied && name === 'decoder.weight') return this.w.U;
    return this.layout.view(this.params, name);
  }

  /** Whether the rows of the named tensor are vocabulary rows kept in rowOrder. */
  private permuted(name: string): boolean {
    if (!this.rowOrder) return false;
    return name === 'decoder.weight' || name === 'decoder.bias' || (this.config.tied && name === 'encoder.weight');
  }

  /** Whether the named tensor is a folded input's W_e = I (no parameter; see ModelConfig.foldInput). */
  private isIdentityInput(name: string): boolean {
    return this.config.foldInput && name === 'rnn.weight_ih_l0';
  }

  /** The named tensor in vocabulary (checkpoint) order: a copy where the model keeps another row order, else the view. */
  tensor(name: string): Arr {
    if (this.isIdentityInput(name)) {
      const H = this.config.hidden;
      const eye = this.dtype === 'f64' ? new Float64Array(H * H) : new Float32Array(H * H);
      for (let i = 0; i < H; i++) eye[i * H + i] = 1;
      return eye;
    }
    const p = this.param(name);
    if (!this.permuted(name)) return p;
    const order = this.rowOrder!;
    const width = p.length / order.length;
    const out = p instanceof Float64Array ? new Float64Array(p.length) : new Float32Array(p.length);
    for (let i = 0; i < order.length; i++) out.set(p.subarray(i * width, (i + 1) * width), order[i] * width);
    return out;
  }

  /** Set the named tensor from values in vocabulary (checkpoint) order. */
  setTensor(name: string, data: ArrayLike<number>): void {
    if (this.isIdentityInput(name)) {
      const H = this.config.hidden;
      for (let i = 0; i < H * H; i++) {
        if (data[i] !== (i % (H + 1) === 0 ? 1 : 0)) {
          throw new ConfigError(`rnn.weight_ih_l0 must be the identity for a folded input (fold_input), but entry [${Math.floor(i / H)}, ${i % H}] is ${data[i]}`);
        }
      }
      return;
    }
    const p = this.param(name);
    if (data.length !== p.length) throw new RangeError(`setTensor ${name}: ${data.length} values for a tensor of ${p.length}`);
    if (!this.permuted(name)) {
      p.set(data);
      return;
    }
    const order = this.rowOrder!;
    const width = p.length / order.length;
    for (let i = 0; i < order.length; i++) for (let j = 0; j < width; j++) p[i * width + j] = data[order[i] * width + j];
  }

  /** The hierarchical softmax's tree as children [2(V-1)] (hs models), else null. */
  get hsTree(): Int32Array | null {
    return this.hsOutput ? this.hsOutput.children : null;
  }

  /** The class of each word id [V] (class-factored models), else null. */
  get wordClasses(): Int32Array | null {
    return this.classOutput ? this.classOutput.wordClass : null;
  }

  /**
   * Initialise as PyTorch's word_language_model does: E and U uniform(±0.1), b2 = 0;
   * recurrent weights and biases uniform(±1/√H) as nn.RNN / LSTM / GRU do (plus the LSTM's
   * forget bias, if set); class_decoder like decoder. A tied U is E and is drawn once.
   */
  init(rng: Rng): void {
    const u = (a: Arr, r: number): void => {
      for (let i = 0; i < a.length; i++) a[i] = rng.uniform(-r, r);
    };
    u(this.w.E, 0.1);
    for (const layer of this.layers) layer.init(rng);
    if (this.hsOutput) {
      u(this.layout.view(this.params, 'hs.weight'), 0.1);
      this.layout.view(this.params, 'hs.bias').fill(0);
    } else {
      if (!this.config.tied) u(this.w.U, 0.1);
      this.w.b2.fill(0);
    }
    if (this.classOutput) {
      u(this.layout.view(this.params, 'class_decoder.weight'), 0.1);
      this.layout.view(this.params, 'class_decoder.bias').fill(0);
    }
    // the max-ent table starts at 0 (as rnnlm-0.4b's): the network alone predicts at first
    this.direct?.weight.fill(0);
  }

  /** Words of max-ent history carried per stream (the O-1 most recent inputs; 0 without max-ent). */
  get historyWidth(): number {
    return this.direct ? this.config.directOrder - 1 : 0;
  }

  /** Values of a carried state for B streams: L·B·S, then B·(O-1) history words with max-ent. */
  stateSize(B: number): number {
    return this.config.layers * B * this.stateWidth + B * this.historyWidth;
  }

  /**
   * A zero state for B streams (h(0) = 0, and c(0) = 0 for LSTM, at the start of a text): the
   * recurrent state [L, B, S], then with max-ent the history [B, O-1] of word ids (0, the
   * boundary token, before the text).
   */
  newState(B: number): Arr {
    return this.alloc(this.stateSize(B));
  }

  /** The shape of the recurrent part of a state from newState(B): [L, B, H], or [L, 2, B, H] for LSTM (h block, then c). */
  stateShape(B: number): number[] {
    const { layers: L, hidden: H } = this.config;
    return this.stateWidth === H ? [L, B, H] : [L, this.stateWidth / H, B, H];
  }

  /** Clear the gradients (what backward added since the last call: dense ranges, touched rows, the max-ent entries). */
  zeroGrad(): void {
    const k = this.kernels;
    for (const [a, b] of this.denseRanges) k.zero(this.grads.subarray(a, b), b - a);
    for (const b of this.rowBlocks) {
      k.rowsOp('zero', this.grads.subarray(b.offset, b.offset + b.size), null, null, 0, 0, b.width, b.list, b.count);
      for (let q = 0; q < b.count; q++) b.mark[b.list[q]] = 0;
      b.count = 0;
    }
    const sg = this.direct?.grad;
    if (sg) {
      for (let q = 1; q <= sg.list[0]; q++) {
        sg.g[sg.list[q]] = 0;
        sg.flags[sg.list[q]] = 0;
      }
      sg.list[0] = 0;
    }
  }

  private workspace(T: number, B: number): Workspace {
    const N = T * B;
    const ws = this.ws;
    if (ws && ws.rows >= N && ws.batch >= B) return ws;
    const { embed: Emb, hidden: H, vocabSize: V, layers } = this.config;
    void V;
    const rows = Math.max(N, ws?.rows ?? 0);
    const batch = Math.max(B, ws?.batch ?? 0);
    const wide = Math.max(Emb, H);
    const alloc = (n: number): Arr => this.alloc(n);
    const caches = this.layers.map((layer) => layer.newCache(alloc, rows, batch));
    const masks: Arr[] = [];
    const dropped: Arr[] = [];
    if (this.config.dropout > 0) {
      for (let s = 0; s <= layers; s++) {
        const width = s === 0 ? Emb : H;
        masks.push(this.alloc(rows * width));
        dropped.push(this.alloc(rows * width));
      }
    }
    const O = this.direct ? this.config.directOrder : 0;
    this.ws = {
      rows, batch, x: new Int32Array(rows), xRow: new Int32Array(rows), emb: this.alloc(rows * Emb), ctx: new Uint32Array(rows * O), keys: new Uint32Array(rows * O),
      caches, masks, dropped, logits: this.config.output === 'softmax' ? this.alloc(rows * V) : null,
      dPing: this.alloc(rows * wide), dPong: this.alloc(rows * wide), T: 0, B: 0, top: null, train: false,
    };
    return this.ws;
  }

  /**
   * Forward over a segment: x [T·B] token ids (time-major), state [L, B, S] carried in and
   * overwritten with the state after step T (the gradient is cut there). Returns the logits
   * view [T·B, V] (for a class-factored model: log-probabilities, or an empty view when
   * opts.logits is false). With opts.train and config.dropout > 0, dropout masks are drawn
   * from opts.rng (Zaremba et al.: embeddings, between layers, before the output).
   */
  forward(x: Int32Array, T: number, B: number, state: Arr, opts: ForwardOptions = {}): Arr {
    const { embed: Emb, hidden: H, vocabSize: V, layers, dropout: P } = this.config;
    if (!(Number.isInteger(T) && T >= 1 && Number.isInteger(B) && B >= 1)) throw new RangeError(`forward: T and B must be positive integers, got T = ${T}, B = ${B}`);
    const N = T * B;
    if (x.length < N) throw new RangeError(`forward: ${x.length} ids for T·B = ${N}`);
    const S = this.stateWidth;
    if (state.length < this.stateSize(B)) throw new RangeError(`forward: state has ${state.length} values, needs ${this.stateSize(B)} (use newState(${B}))`);
    const train = opts.train === true && P > 0;
    if (train && !opts.rng) throw new ConfigError('forward: dropout in training needs opts.rng (a seeded Rng)');
    const ws = this.workspace(T, B);
    ws.top = null; // until this forward completes: loss() and backward() refuse after one that threw
    ws.T = T;
    ws.B = B;
    ws.train = train;
    ws.x.set(x.subarray(0, N));
    for (let i = 0; i < N; i++) {
      const id = ws.x[i];
      if (!(id >= 0 && id < V)) throw new RangeError(`forward: input id ${id} at row ${i} is outside [0, ${V})`);
    }
    // encoder.weight rows: in class order when a tied class model keeps it so
    const inRows = this.config.tied && this.rowOrder ? ws.xRow : ws.x;
    if (inRows === ws.xRow) for (let i = 0; i < N; i++) ws.xRow[i] = this.classOutput!.row[ws.x[i]];
    const k = this.kernels;
    if (this.direct) {
      // max-ent features of this segment, from its inputs and the history carried in the state
      const O = this.config.directOrder;
      const hist = state.subarray(layers * B * S, layers * B * S + B * (O - 1));
      contextHashes(ws.ctx, ws.x, T, B, hist, O);
      advanceHistory(hist, ws.x, T, B, O);
      const Sd = this.direct.size;
      for (let i = 0; i < N * O; i++) ws.keys[i] = directKey(ws.ctx[i], 0, Sd);
    }
    const emb = ws.emb.subarray(0, N * Emb);
    embeddingForward(k, emb, this.w.E, inRows, N, Emb);
    // Dropout site s: y = x ⊙ m_s, into its own buffer (x is still needed: it is h(t) of a layer).
    const drop = (s: number, input: Arr, width: number): Arr => {
      if (!train) return input;
      const n = N * width;
      const mask = ws.masks[s].subarray(0, n);
      const y = ws.dropped[s].subarray(0, n);
      dropoutMask(k, mask, P, opts.rng!, n);
      dropoutForward(k, y, input, mask, n);
      return y;
    };
    let input: Arr = drop(0, emb, Emb);
    for (let l = 0; l < layers; l++) {
      const st = state.subarray(l * B * S, (l + 1) * B * S);
      const out = this.layers[l].forward(k, ws.caches[l], input, st, T, B);
      input = drop(l + 1, out, H);
    }
    ws.top = input;
    const wantLogits = opts.logits ?? !opts.train;
    if (this.config.output !== 'softmax' && !wantLogits) return this.logitsView(ws, 0);
    const logits = this.logitsView(ws, N * V);
    if (this.classOutput) {
      this.classOutput.logProbs(k, logits, input, N, this.classDirect(ws, N));
      return logits;
    }
    if (this.hsOutput) {
      this.hsOutput.logProbs(k, logits, input, N, this.hsNodeScores(ws, N));
      return logits;
    }
    outputForward(k, logits, input, this.w.U, this.w.b2, N, H, V);
    if (this.direct) k.directAdd(logits, V, { table: this.direct.weight, keys: ws.keys.subarray(0, N * this.config.directOrder), O: this.config.directOrder }, N, V);
    return logits;
  }

  /** The first n values of the workspace's logits, allocating them when first needed. */
  private logitsView(ws: Workspace, n: number): Arr {
    if (n === 0) return ws.dPing.subarray(0, 0);
    if (!ws.logits || ws.logits.length < ws.rows * this.config.vocabSize) ws.logits = this.alloc(ws.rows * this.config.vocabSize);
    return ws.logits.subarray(0, n);
  }

  /** The class output's max-ent arguments for the last forward's N rows. */
  private classDirect(ws: Workspace, N: number): ClassDirect | undefined {
    if (!this.direct) return undefined;
    const O = this.config.directOrder;
    return { table: this.direct.weight, grad: this.direct.grad, ctx: ws.ctx.subarray(0, N * O), O };
  }

  /** Max-ent scores of every inner node [N, V-1] for full hierarchical-softmax log-probabilities, or undefined. */
  private hsNodeScores(ws: Workspace, N: number): Arr | undefined {
    if (!this.direct) return undefined;
    const O = this.config.directOrder;
    const V1 = this.config.vocabSize - 1;
    const t = this.direct.weight;
    const Sd = t.length;
    const out = new Float64Array(N * V1);
    for (let r = 0; r < N; r++) {
      for (let a = 0; a < O; a++) {
        const key = ws.keys[r * O + a];
        for (let n = 0; n < V1; n++) out[r * V1 + n] += t[(key + n) % Sd];
      }
    }
    return out;
  }

  /**
   * Σ over the T·B rows of -ln yhat[target] (float64) for the last forward; targets [T·B].
   * With grad, the logits become dJ/dlogits for a loss scaled by `scale` (1/N: the mean).
   */
  loss(targets: Int32Array, grad: boolean, scale: number, logProbs?: Float64Array): number {
    const ws = this.ws;
    if (!ws || !ws.top) throw new Error('loss() needs a forward() first');
    const N = ws.T * ws.B;
    const k = this.kernels;
    if (this.classOutput) return this.classOutput.loss(k, ws.top, targets, N, grad, scale, logProbs, this.classDirect(ws, N));
    if (this.hsOutput) {
      const d = this.direct ? { table: this.direct.weight, keys: ws.keys.subarray(0, N * this.config.directOrder), O: this.config.directOrder } : undefined;
      return this.hsOutput.loss(k, ws.top, targets, N, grad, scale, logProbs, d);
    }
    return outputLoss(k, this.logitsView(ws, N * this.config.vocabSize), targets, N, this.config.vocabSize, grad, scale, logProbs);
  }

  /** Backpropagation through time for the last forward + loss(grad=true); adds into `grads`. */
  backward(opts: BackwardOptions = {}): void {
    const ws = this.ws;
    if (!ws || !ws.top) throw new Error('backward() needs forward() and loss(grad) first');
    const { embed: Emb, hidden: H, vocabSize: V, layers } = this.config;
    const { T, B } = ws;
    const N = T * B;
    const k = this.kernels;
    const pingPong = [ws.dPing, ws.dPong];
    let cur = 0;
    let dH = pingPong[cur].subarray(0, N * H);
    if (this.classOutput) {
      this.classOutput.backward(k, dH, ws.top);
    } else if (this.hsOutput) {
      if (this.direct) {
        // the max-ent scores were added to the node scores: their table entries get dJ/ds
        const { G, batch } = this.hsOutput.lastGrad();
        const O = this.config.directOrder;
        k.directGradHs(this.direct.grad, G, this.hsOutput.tree, batch, ws.keys.subarray(0, N * O), O, N);
      }
      const nodes = this.hsOutput.lastGrad().batch.nodeList;
      this.hsOutput.backward(k, dH, ws.top);
      const hsBlock = this.rowBlocks[this.rowBlocks.length - 1];
      this.touchRows(hsBlock, nodes, nodes[0], 1);
    } else {
      const dlogits = this.logitsView(ws, N * V);
      outputBackward(k, dH, this.g.U, this.g.b2, dlogits, ws.top, this.w.U, N, H, V);
      if (this.direct) {
        const O = this.config.directOrder;
        k.directGrad(this.direct.grad, dlogits, V, ws.keys.subarray(0, N * O), O, N, V);
      }
    }
    const only = opts.onlyStep;
    if (only !== undefined) {
      if (!Number.isInteger(only) || only < 0 || only >= T) throw new RangeError(`backward: onlyStep must be a step from 0 to ${T - 1}, got ${only}`);
      dH.fill(0, 0, only * B * H);
      dH.fill(0, (only + 1) * B * H);
    }
    // y = x ⊙ m at site s:  dx = dy ⊙ m, in place
    const undrop = (s: number, d: Arr): void => {
      if (ws.train) dropoutBackward(k, d, d, ws.masks[s], d.length);
    };
    for (let l = layers - 1; l >= 0; l--) {
      undrop(l + 1, dH);
      const I = l === 0 ? Emb : H;
      cur = 1 - cur;
      const dX = pingPong[cur].subarray(0, N * I);
      const onGradH = opts.onGradH;
      this.layers[l].backward(k, ws.caches[l], dH, dX, T, B, onGradH && ((t, dh) => onGradH(l, t, dh)));
      dH = dX;
    }
    undrop(0, dH);
    const inRows = this.config.tied && this.rowOrder ? ws.xRow : ws.x;
    embeddingBackward(k, this.g.E, dH, inRows, N, Emb);
    if (!this.config.tied) this.touchRows(this.rowBlocks[0], inRows, N);
  }
}
