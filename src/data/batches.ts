// Training batches, as pytorch/examples' batchify / get_batch:
// the token stream is cut into B parallel streams (the remainder is dropped) and read in
// segments of up to T steps; inputs x(t) and targets x(t+1) are time-major.
// The streams are read in place from the ids (stream b is ids[b·S, (b+1)·S)): a segment gathers
// its T·B inputs and targets, so batching holds no second copy of a corpus of millions of tokens.
// Legend: N tokens, B streams, S = floor(N / B) steps per stream, T steps per segment.

export class Batched {
  /** Steps per stream: S = floor(N / B). */
  readonly S: number;

  /** ids [N] read as B streams of S steps (the last N - B·S ids are dropped). */
  constructor(readonly ids: Int32Array, readonly B: number) {
    this.S = Math.floor(ids.length / B);
  }

  /** The token at step s of stream b: ids[b·S + s]. */
  at(s: number, b: number): number {
    return this.ids[b * this.S + s];
  }

  /** A time-major copy [S, B]: data[s·B + b] = ids[b·S + s] (for inspection; training reads the streams in place). */
  get data(): Int32Array {
    const { B, S } = this;
    const data = new Int32Array(S * B);
    for (let s = 0; s < S; s++) for (let b = 0; b < B; b++) data[s * B + b] = this.at(s, b);
    return data;
  }
}

export function batchify(ids: Int32Array, B: number): Batched {
  return new Batched(ids, B);
}

/** Number of segments of an epoch: segment i starts at step i * T. */
export function segmentCount(batched: Batched, T: number): number {
  return Math.max(0, Math.ceil((batched.S - 1) / T));
}

/** Segment i: x [len, B] = steps start..start+len of every stream, y [len, B] = steps start+1..start+len+1. */
export function segment(batched: Batched, T: number, i: number): { x: Int32Array; y: Int32Array; len: number } {
  const { B, S } = batched;
  const start = i * T;
  const len = Math.min(T, S - 1 - start);
  const x = new Int32Array(len * B);
  const y = new Int32Array(len * B);
  for (let b = 0; b < B; b++) {
    const stream = b * S + start;
    for (let t = 0; t < len; t++) {
      x[t * B + b] = batched.ids[stream + t];
      y[t * B + b] = batched.ids[stream + t + 1];
    }
  }
  return { x, y, len };
}
