// Training batches, as pytorch/examples' batchify / get_batch:
// the token stream is cut into B parallel streams (the remainder is dropped) and read in
// segments of up to T steps; inputs x(t) and targets x(t+1) are stored time-major.
// Legend: N tokens, B streams, S = floor(N / B) steps per stream, T steps per segment.

export interface Batched {
  /** data[s * B + b] = ids[b * S + s], shape [S, B]. */
  readonly data: Int32Array;
  readonly B: number;
  readonly S: number;
}

export function batchify(ids: Int32Array, B: number): Batched {
  const S = Math.floor(ids.length / B);
  const data = new Int32Array(S * B);
  for (let b = 0; b < B; b++) for (let s = 0; s < S; s++) data[s * B + b] = ids[b * S + s];
  return { data, B, S };
}

/** Number of segments of an epoch: segment i starts at step i * T. */
export function segmentCount(batched: Batched, T: number): number {
  return Math.max(0, Math.ceil((batched.S - 1) / T));
}

/** Segment i: x [len, B] = data[start..start+len], y [len, B] = data[start+1..start+len+1]. */
export function segment(batched: Batched, T: number, i: number): { x: Int32Array; y: Int32Array; len: number } {
  const { data, B, S } = batched;
  const start = i * T;
  const len = Math.min(T, S - 1 - start);
  return {
    x: data.subarray(start * B, (start + len) * B),
    y: data.subarray((start + 1) * B, (start + 1 + len) * B),
    len,
  };
}
