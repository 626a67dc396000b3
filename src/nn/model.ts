// The recurrent language model of the notes, as one object:
//   e(t) = E x(t);  h_l(t) = act(W_e h_{l-1}(t) + b_e + W_h h_l(t-1) + b_h);  yhat(t) = softmax(U h_L(t) + b2)
// Parameters live in one arena (`params`), gradients in another with the same layout (`grads`),
// named as PyTorch's word_language_model names them, so checkpoints load there unchanged.
// Legend: T steps, B batch, N = T·B rows, L layers, Emb embedding, H hidden, V vocab.

import type { Arr, Kernels } from '../kernels/kernels.js';
import { Rng } from '../rng.js';
import { Layout, type DType, type ParamSpec } from './arena.js';
import type { ModelConfig } from './config.js';
import { embeddingBackward, embeddingForward } from './embedding.js';
import { elmanBackward, elmanForward, elmanSpecs, type ElmanCache, type ElmanWeights } from './elman.js';
import { outputBackward, outputForward, outputLoss } from './output.js';

/** Tensor names and shapes of a config, in arena order. */
export function modelSpecs(c: ModelConfig): ParamSpec[] {
  const specs: ParamSpec[] = [{ name: 'encoder.weight', shape: [c.vocabSize, c.embed] }];
  for (let l = 0; l < c.layers; l++) specs.push(...elmanSpecs(l, l === 0 ? c.embed : c.hidden, c.hidden));
  specs.push({ name: 'decoder.weight', shape: [c.vocabSize, c.hidden] }, { name: 'decoder.bias', shape: [c.vocabSize] });
  return specs;
}

interface Views {
  E: Arr; // [V, Emb]
  layers: ElmanWeights[];
  U: Arr; // [V, H]
  b2: Arr; // [V]
}

interface Workspace {
  rows: number; // capacity in rows N
  batch: number; // capacity in B
  x: Int32Array; // [N] input ids of the last forward
  emb: Arr; // [N, Emb]
  caches: ElmanCache[]; // per layer, Hs [(N + B), H]
  logits: Arr; // [N, V], dlogits after loss(grad)
  dA: Arr; // [N, max(Emb, H)] ping
  dB: Arr; // [N, max(Emb, H)] pong
  T: number; // shape of the last forward
  B: number;
}

export interface ModelOptions {
  /** 'f32' (default) for training and inference; 'f64' for gradient checks. */
  dtype?: DType;
}

export class RnnLM {
  readonly config: ModelConfig;
  readonly kernels: Kernels;
  readonly dtype: DType;
  readonly layout: Layout;
  /** All parameters, laid out by `layout`. */
  readonly params: Arr;
  /** Gradients, same layout; backward adds into them, zeroGrad clears them. */
  readonly grads: Arr;
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
  }

  /** A zeroed buffer of this model's dtype, usable by its kernels without copying. */
  alloc(n: number): Arr {
    return this.dtype === 'f64' ? new Float64Array(n) : this.kernels.alloc(n);
  }

  private views(buf: Arr): Views {
    const L = this.layout;
    const layers: ElmanWeights[] = [];
    for (let l = 0; l < this.config.layers; l++) {
      layers.push({
        W_e: L.view(buf, `rnn.weight_ih_l${l}`),
        W_h: L.view(buf, `rnn.weight_hh_l${l}`),
        b_e: L.view(buf, `rnn.bias_ih_l${l}`),
        b_h: L.view(buf, `rnn.bias_hh_l${l}`),
      });
    }
    return { E: L.view(buf, 'encoder.weight'), layers, U: L.view(buf, 'decoder.weight'), b2: L.view(buf, 'decoder.bias') };
  }

  /** The named parameter tensor (a view into `params`). */
  param(name: string): Arr {
    return this.layout.view(this.params, name);
  }

  /**
   * Initialise as PyTorch's word_language_model does: E and U uniform(±0.1), b2 = 0;
   * recurrent weights and biases uniform(±1/√H) as nn.RNN does.
   */
  init(rng: Rng): void {
    const u = (a: Arr, r: number): void => {
      for (let i = 0; i < a.length; i++) a[i] = rng.uniform(-r, r);
    };
    u(this.w.E, 0.1);
    const r = 1 / Math.sqrt(this.config.hidden);
    for (const lw of this.w.layers) {
      u(lw.W_e, r);
      u(lw.W_h, r);
      u(lw.b_e, r);
      u(lw.b_h, r);
    }
    u(this.w.U, 0.1);
    this.w.b2.fill(0);
  }

  /** A zero recurrent state [L, B, H] (h(0) = 0 at the start of a text). */
  newState(B: number): Arr {
    return this.alloc(this.config.layers * B * this.config.hidden);
  }

  zeroGrad(): void {
    this.grads.fill(0);
  }

  private workspace(T: number, B: number): Workspace {
    const N = T * B;
    const ws = this.ws;
    if (ws && ws.rows >= N && ws.batch >= B) return ws;
    const { embed: Emb, hidden: H, vocabSize: V, layers } = this.config;
    const rows = Math.max(N, ws?.rows ?? 0);
    const batch = Math.max(B, ws?.batch ?? 0);
    const wide = Math.max(Emb, H);
    const caches: ElmanCache[] = [];
    const emb = this.alloc(rows * Emb);
    for (let l = 0; l < layers; l++) caches.push({ X: emb, Hs: this.alloc((rows + batch) * H) });
    this.ws = {
      rows, batch, x: new Int32Array(rows), emb, caches,
      logits: this.alloc(rows * V), dA: this.alloc(rows * wide), dB: this.alloc(rows * wide), T: 0, B: 0,
    };
    return this.ws;
  }

  /**
   * Forward over a segment: x [T·B] token ids (time-major), state [L, B, H] carried in and
   * overwritten with h(T) (the gradient is cut there). Returns the logits view [T·B, V].
   */
  forward(x: Int32Array, T: number, B: number, state: Arr): Arr {
    const { embed: Emb, hidden: H, vocabSize: V, layers, cell } = this.config;
    const N = T * B;
    if (x.length < N) throw new RangeError(`forward: ${x.length} ids for T·B = ${N}`);
    const ws = this.workspace(T, B);
    ws.T = T;
    ws.B = B;
    ws.x.set(x.subarray(0, N));
    const k = this.kernels;
    const emb = ws.emb.subarray(0, N * Emb);
    embeddingForward(k, emb, this.w.E, ws.x, N, Emb);
    let input: Arr = emb;
    for (let l = 0; l < layers; l++) {
      const h0 = state.subarray(l * B * H, (l + 1) * B * H);
      input = elmanForward(k, ws.caches[l], input, h0, this.w.layers[l], cell, T, B, l === 0 ? Emb : H, H);
      h0.set(ws.caches[l].Hs.subarray(T * B * H, (T + 1) * B * H));
    }
    const logits = ws.logits.subarray(0, N * V);
    outputForward(k, logits, input, this.w.U, this.w.b2, N, H, V);
    return logits;
  }

  /**
   * Σ over the T·B rows of -ln yhat[target] (float64) for the last forward; targets [T·B].
   * With grad, the logits become dJ/dlogits for a loss scaled by `scale` (1/N: the mean).
   */
  loss(targets: Int32Array, grad: boolean, scale: number, logProbs?: Float64Array): number {
    const ws = this.ws;
    if (!ws || ws.T === 0) throw new Error('loss() needs a forward() first');
    const N = ws.T * ws.B;
    return outputLoss(this.kernels, ws.logits.subarray(0, N * this.config.vocabSize), targets, N, this.config.vocabSize, grad, scale, logProbs);
  }

  /** Backpropagation through time for the last forward + loss(grad=true); adds into `grads`. */
  backward(): void {
    const ws = this.ws;
    if (!ws || ws.T === 0) throw new Error('backward() needs forward() and loss(grad) first');
    const { embed: Emb, hidden: H, vocabSize: V, layers, cell } = this.config;
    const { T, B } = ws;
    const N = T * B;
    const k = this.kernels;
    const top = ws.caches[layers - 1].Hs.subarray(B * H, (T + 1) * B * H);
    const pingPong = [ws.dA, ws.dB];
    let cur = 0;
    let dH = pingPong[cur].subarray(0, N * H);
    outputBackward(k, dH, this.g.U, this.g.b2, ws.logits.subarray(0, N * V), top, this.w.U, N, H, V);
    for (let l = layers - 1; l >= 0; l--) {
      const I = l === 0 ? Emb : H;
      cur = 1 - cur;
      const dX = pingPong[cur].subarray(0, N * I);
      elmanBackward(k, ws.caches[l], dH, dX, this.w.layers[l], this.g.layers[l], cell, T, B, I, H);
      dH = dX;
    }
    embeddingBackward(k, this.g.E, dH, ws.x, N, Emb);
  }
}
