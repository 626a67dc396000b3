// Max-ent direct connections (src/nn/direct.ts; Mikolov 2011, rnnlm-0.4b's -direct): hashed
// n-gram features of the recent words add table entries straight onto output scores. A row has
// one key per order (a start index into the table, or 0xFFFFFFFF when the feature is absent);
// output j of a run reads table[(key + j) mod S], so consecutive outputs read consecutive entries.
// The gradient of the table is sparse: the kernels here add into a dense gradient gtab [S] and
// record each entry the first time it is touched (flag [S] u8, list [count, idx …] i32), so that
// clipping and the update visit only those entries, in first-touch order.
// Legend: R rows, n outputs per row, O orders, S table entries, ld row stride (floats).
// Single-threaded on purpose where they add into gtab: the additions run in a fixed order (rows,
// then orders, then outputs), whatever else runs on other threads.
// Pointers are byte offsets; nothing allocates.

@inline function keyAt(keys: usize, r: i32, O: i32, a: i32): u32 {
  return load<u32>(keys + (<usize>r * O + a) * 4);
}

/** Z[r, j] (row stride ld) += Σ_a table[(keys[r, a] + j) mod S] for rows [r0, r1), j < n. */
export function directAddF32(Z: usize, ld: i32, table: usize, keys: usize, O: i32, S: u32, r0: i32, r1: i32, n: i32): void {
  for (let r = r0; r < r1; r++) {
    const z = Z + <usize>r * ld * 4;
    for (let a = 0; a < O; a++) {
      const key = keyAt(keys, r, O, a);
      if (key == 0xffffffff) continue;
      let j = 0;
      let idx = key;
      while (j < n) {
        const len = <i32>min(<u32>(n - j), S - idx);
        const t = table + (<usize>idx << 2);
        const zz = z + (<usize>j << 2);
        let i = 0;
        for (; i + 4 <= len; i += 4) v128.store(zz + (<usize>i << 2), f32x4.add(v128.load(zz + (<usize>i << 2)), v128.load(t + (<usize>i << 2))));
        for (; i < len; i++) store<f32>(zz + (<usize>i << 2), load<f32>(zz + (<usize>i << 2)) + load<f32>(t + (<usize>i << 2)));
        j += len;
        idx = 0;
      }
    }
  }
}

/** gtab[idx] += g, recording idx in the touched list the first time. */
@inline function touch(gtab: usize, flags: usize, list: usize, idx: u32, g: f32): void {
  const f = flags + <usize>idx;
  if (load<u8>(f) == 0) {
    store<u8>(f, 1);
    const cnt = load<i32>(list);
    store<i32>(list + (<usize>(cnt + 1) << 2), <i32>idx);
    store<i32>(list, cnt + 1);
  }
  const p = gtab + (<usize>idx << 2);
  store<f32>(p, load<f32>(p) + g);
}

/** gtab[(keys[r, a] + j) mod S] += dZ[r, j] for rows r < R (stride ld), orders a, outputs j < n, in that order. */
export function directGradF32(gtab: usize, flags: usize, list: usize, dZ: usize, ld: i32, keys: usize, O: i32, S: u32, R: i32, n: i32): void {
  for (let r = 0; r < R; r++) {
    const z = dZ + <usize>r * ld * 4;
    for (let a = 0; a < O; a++) {
      const key = keyAt(keys, r, O, a);
      if (key == 0xffffffff) continue;
      let idx = key;
      for (let j = 0; j < n; j++) {
        touch(gtab, flags, list, idx, load<f32>(z + (<usize>j << 2)));
        idx++;
        if (idx == S) idx = 0;
      }
    }
  }
}

/**
 * The class-factored softmax's word scores (classes.ts plan): for classes c in order, their
 * sorted rows p, orders a, words j < s_c: gtab[(keysW[p, a] + j) mod S] += Z_c[p - p0, j].
 * One-word classes carry no gradient and are skipped.
 */
export function directGradClassWordsF32(gtab: usize, flags: usize, list: usize, Z: usize, plan: usize, C: i32, keys: usize, O: i32, S: u32): void {
  const rowStart = plan;
  const wordStart = plan + (<usize>(C + 1) << 2);
  const zStart = plan + (<usize>(2 * C + 2) << 2);
  for (let c = 0; c < C; c++) {
    const p0 = load<i32>(rowStart + (<usize>c << 2));
    const p1 = load<i32>(rowStart + (<usize>(c + 1) << 2));
    const s = load<i32>(wordStart + (<usize>(c + 1) << 2)) - load<i32>(wordStart + (<usize>c << 2));
    if (s == 1) continue;
    const z = Z + (<usize>load<i32>(zStart + (<usize>c << 2)) << 2);
    for (let p = p0; p < p1; p++) {
      const zr = z + <usize>(p - p0) * s * 4;
      for (let a = 0; a < O; a++) {
        const key = keyAt(keys, p, O, a);
        if (key == 0xffffffff) continue;
        let idx = key;
        for (let j = 0; j < s; j++) {
          touch(gtab, flags, list, idx, load<f32>(zr + (<usize>j << 2)));
          idx++;
          if (idx == S) idx = 0;
        }
      }
    }
  }
}

/**
 * Hierarchical softmax (hsoftmax.ts tree and G): for rows r < R, orders a, path nodes j:
 * gtab[(keys[r, a] + n_j) mod S] += G[rowOff[r] + j].
 */
export function directGradHsF32(gtab: usize, flags: usize, list: usize, G: usize, tree: usize, V: i32, targets: usize, rowOff: usize, keys: usize, O: i32, S: u32, R: i32): void {
  const pathNode = tree + (<usize>(V + 1) << 2);
  for (let r = 0; r < R; r++) {
    const w = load<i32>(targets + (<usize>r << 2));
    const j0 = load<i32>(tree + (<usize>w << 2));
    const L = load<i32>(tree + (<usize>(w + 1) << 2)) - j0;
    const g = G + (<usize>load<i32>(rowOff + (<usize>r << 2)) << 2);
    for (let a = 0; a < O; a++) {
      const key = keyAt(keys, r, O, a);
      if (key == 0xffffffff) continue;
      for (let j = 0; j < L; j++) {
        const node = <u32>load<i32>(pathNode + (<usize>(j0 + j) << 2));
        touch(gtab, flags, list, (key + node) % S, load<f32>(g + (<usize>j << 2)));
      }
    }
  }
}

// ---- updates of the touched entries (list order), then clearing them -----------------------

/** Σ gtab[idx]² over the touched entries, in f64, in list order. */
export function sparseSumSquaresF32(gtab: usize, list: usize): f64 {
  const cnt = load<i32>(list);
  let s: f64 = 0;
  for (let q = 0; q < cnt; q++) {
    const v = <f64>load<f32>(gtab + (<usize>load<i32>(list + (<usize>(q + 1) << 2)) << 2));
    s += v * v;
  }
  return s;
}

/**
 * One update of the touched entries with the gradient scaled by gs (clipping), then gtab and
 * the flags cleared and the list emptied. kind 0: SGD, w -= lr·g. kind 1: Adam on the touched
 * entries only (lazy, as PyTorch's SparseAdam): m = b1·m + a1·g; v = b2·v + a2·g²;
 * w -= lr·(m/c1) / (sqrt(v/c2) + eps), with the bias corrections of the global step.
 * kind 2: Adagrad, s += g²; w -= lr·g / (sqrt(s) + eps) (m is s).
 */
export function sparseUpdateF32(
  kind: i32, w: usize, m: usize, v: usize, gtab: usize, flags: usize, list: usize, gs: f32,
  lr: f32, b1: f32, b2: f32, a1: f32, a2: f32, eps: f32, c1: f32, c2: f32,
): void {
  const cnt = load<i32>(list);
  for (let q = 0; q < cnt; q++) {
    const idx = <usize>load<i32>(list + (<usize>(q + 1) << 2));
    const o = idx << 2;
    const g = load<f32>(gtab + o) * gs;
    if (kind == 0) {
      store<f32>(w + o, load<f32>(w + o) - lr * g);
    } else if (kind == 1) {
      const mm = b1 * load<f32>(m + o) + a1 * g;
      const vv = b2 * load<f32>(v + o) + a2 * (g * g);
      store<f32>(m + o, mm);
      store<f32>(v + o, vv);
      store<f32>(w + o, load<f32>(w + o) - (lr * (mm / c1)) / (Mathf.sqrt(vv / c2) + eps));
    } else {
      const ss = load<f32>(m + o) + g * g;
      store<f32>(m + o, ss);
      store<f32>(w + o, load<f32>(w + o) - (lr * g) / (Mathf.sqrt(ss) + eps));
    }
    store<f32>(gtab + o, 0);
    store<u8>(flags + idx, 0);
  }
  store<i32>(list, 0);
}
