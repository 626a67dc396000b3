// One flat buffer for all parameters, with named views; gradients and optimizer state use
// the same layout, so update, clipping, saving and sharing are flat loops over one array.

import type { Arr } from '../kernels/kernels.js';

export interface ParamSpec {
  /** PyTorch-compatible tensor name, e.g. "rnn.weight_hh_l0". */
  readonly name: string;
  readonly shape: readonly number[];
}

export type Precision = 'f32' | 'f64';

export class Layout {
  readonly specs: readonly ParamSpec[];
  readonly offsets: ReadonlyMap<string, { offset: number; size: number; shape: readonly number[] }>;
  /** Total number of scalars. */
  readonly size: number;

  constructor(specs: readonly ParamSpec[]) {
    const offsets = new Map<string, { offset: number; size: number; shape: readonly number[] }>();
    let offset = 0;
    for (const s of specs) {
      if (offsets.has(s.name)) throw new Error(`duplicate parameter ${s.name}`);
      const size = s.shape.reduce((a, b) => a * b, 1);
      offsets.set(s.name, { offset, size, shape: s.shape });
      offset += size;
    }
    this.specs = specs;
    this.offsets = offsets;
    this.size = offset;
  }

  /** The named block of a buffer laid out like this. */
  view<A extends Arr>(buf: A, name: string): A {
    const o = this.offsets.get(name);
    if (!o) throw new Error(`no parameter named ${name}`);
    return buf.subarray(o.offset, o.offset + o.size) as A;
  }

  has(name: string): boolean {
    return this.offsets.has(name);
  }
}
