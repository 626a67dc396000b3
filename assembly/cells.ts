// Per-step kernels of the recurrent cells (LSTM, GRU), and the transpose that lets the per-step GEMM read
// W_hhᵀ in place (gemm.ts: DIRECT_B_MAX_M). Legend: B rows (streams), H hidden width; gate
// blocks of an LSTM row are i, f, g, o (torch.nn.LSTM order), each H wide. Pointers are byte
// offsets; nothing allocates. Tails go through the same lane arithmetic (loadPartial).
import { loadPartial, sigmoid4, storePartial, tanh4 } from './vmath';

/** out[C,R] = x[R,C]ᵀ (out and x do not overlap). Blocks of 8×8 keep both sides in cache. */
export function transposeF32(out: usize, x: usize, R: i32, C: i32): void {
  for (let r0 = 0; r0 < R; r0 += 8) {
    const r1 = min(R, r0 + 8);
    for (let c0 = 0; c0 < C; c0 += 8) {
      const c1 = min(C, c0 + 8);
      for (let r = r0; r < r1; r++) {
        const src = x + <usize>r * C * 4;
        for (let c = c0; c < c1; c++) store<f32>(out + (<usize>c * R + r) * 4, load<f32>(src + <usize>c * 4));
      }
    }
  }
}

@inline function ld(p: usize, cnt: i32): v128 {
  return cnt == 4 ? v128.load(p) : loadPartial(p, cnt);
}

@inline function st(p: usize, v: v128, cnt: i32): void {
  if (cnt == 4) v128.store(p, v);
  else storePartial(p, v, cnt);
}

/**
 * LSTM step, forward: G [B,4H] holds a = W_ih x + W_hh h(t-1) + biases and is overwritten with
 * i = σ(a_i), f = σ(a_f), g = tanh(a_g), o = σ(a_o); c [B,H] = f⊙cPrev + i⊙g; tc = tanh(c);
 * h = o⊙tc. cPrev, c, tc, h are [B,H] with row stride H.
 */
export function lstmForwardF32(G: usize, cPrev: usize, c: usize, tc: usize, h: usize, B: i32, H: i32): void {
  const hb = <usize>H * 4;
  for (let b = 0; b < B; b++) {
    const g0 = G + <usize>b * 4 * hb;
    const s = <usize>b * hb;
    for (let j = 0; j < H; j += 4) {
      const n = min(4, H - j);
      const o4 = <usize>j * 4;
      const ig = sigmoid4(ld(g0 + o4, n));
      const fg = sigmoid4(ld(g0 + hb + o4, n));
      const gg = tanh4(ld(g0 + 2 * hb + o4, n));
      const og = sigmoid4(ld(g0 + 3 * hb + o4, n));
      st(g0 + o4, ig, n);
      st(g0 + hb + o4, fg, n);
      st(g0 + 2 * hb + o4, gg, n);
      st(g0 + 3 * hb + o4, og, n);
      const cc = f32x4.add(f32x4.mul(fg, ld(cPrev + s + o4, n)), f32x4.mul(ig, gg));
      const th = tanh4(cc);
      st(c + s + o4, cc, n);
      st(tc + s + o4, th, n);
      st(h + s + o4, f32x4.mul(og, th), n);
    }
  }
}

@inline function oneMinusSq(x: v128): v128 {
  return f32x4.mul(f32x4.sub(f32x4.splat(1), x), f32x4.add(f32x4.splat(1), x));
}

/**
 * LSTM step, backward. From the activations G [B,4H], cPrev, tc and dh = dJ/dh(t) [B,H], with
 * dc [B,H] holding dJ/dc(t) from step t+1 (in) and dJ/dc(t-1) (out):
 *   dc' = dc + dh⊙o⊙(1 - tc²);  da_i = dc'⊙g⊙i(1-i);  da_f = dc'⊙cPrev⊙f(1-f);
 *   da_g = dc'⊙i⊙(1 - g²);  da_o = dh⊙tc⊙o(1-o);  dc ← dc'⊙f.   dG [B,4H] is written.
 */
export function lstmBackwardF32(dG: usize, G: usize, cPrev: usize, tc: usize, dh: usize, dc: usize, B: i32, H: i32): void {
  const hb = <usize>H * 4;
  const one = f32x4.splat(1);
  for (let b = 0; b < B; b++) {
    const g0 = G + <usize>b * 4 * hb;
    const d0 = dG + <usize>b * 4 * hb;
    const s = <usize>b * hb;
    for (let j = 0; j < H; j += 4) {
      const n = min(4, H - j);
      const o4 = <usize>j * 4;
      const ig = ld(g0 + o4, n);
      const fg = ld(g0 + hb + o4, n);
      const gg = ld(g0 + 2 * hb + o4, n);
      const og = ld(g0 + 3 * hb + o4, n);
      const th = ld(tc + s + o4, n);
      const dhv = ld(dh + s + o4, n);
      // 1 - x² as (1 - x)(1 + x): no cancellation when |x| → 1 (as actBackward)
      const dct = f32x4.add(ld(dc + s + o4, n), f32x4.mul(f32x4.mul(dhv, og), oneMinusSq(th)));
      st(d0 + o4, f32x4.mul(f32x4.mul(dct, gg), f32x4.mul(ig, f32x4.sub(one, ig))), n);
      st(d0 + hb + o4, f32x4.mul(f32x4.mul(dct, ld(cPrev + s + o4, n)), f32x4.mul(fg, f32x4.sub(one, fg))), n);
      st(d0 + 2 * hb + o4, f32x4.mul(f32x4.mul(dct, ig), oneMinusSq(gg)), n);
      st(d0 + 3 * hb + o4, f32x4.mul(f32x4.mul(dhv, th), f32x4.mul(og, f32x4.sub(one, og))), n);
      st(dc + s + o4, f32x4.mul(dct, fg), n);
    }
  }
}

/**
 * GRU step, forward (torch.nn.GRU gate order r, z, n): Gi [B,3H] holds W_ih x + b_ih and Gh
 * [B,3H] holds W_hh h(t-1) + b_hh. Gi is overwritten with r = σ(gi_r + gh_r),
 * z = σ(gi_z + gh_z), n = tanh(gi_n + r⊙gh_n); h [B,H] = (1-z)⊙n + z⊙hPrev.
 */
export function gruForwardF32(Gi: usize, Gh: usize, hPrev: usize, h: usize, B: i32, H: i32): void {
  const hb = <usize>H * 4;
  for (let b = 0; b < B; b++) {
    const gi = Gi + <usize>b * 3 * hb;
    const gh = Gh + <usize>b * 3 * hb;
    const s = <usize>b * hb;
    for (let j = 0; j < H; j += 4) {
      const n = min(4, H - j);
      const o4 = <usize>j * 4;
      const r = sigmoid4(f32x4.add(ld(gi + o4, n), ld(gh + o4, n)));
      const z = sigmoid4(f32x4.add(ld(gi + hb + o4, n), ld(gh + hb + o4, n)));
      const nn = tanh4(f32x4.add(ld(gi + 2 * hb + o4, n), f32x4.mul(r, ld(gh + 2 * hb + o4, n))));
      st(gi + o4, r, n);
      st(gi + hb + o4, z, n);
      st(gi + 2 * hb + o4, nn, n);
      st(h + s + o4, f32x4.add(f32x4.mul(f32x4.sub(f32x4.splat(1), z), nn), f32x4.mul(z, ld(hPrev + s + o4, n))), n);
    }
  }
}

/**
 * GRU step, backward, from the gates Gi [B,3H] (r, z, n), Gh [B,3H] (its n block W_hn h + b_hn),
 * hPrev and dh = dJ/dh(t) [B,H]: da_n = dh⊙(1-z)⊙(1-n²); da_r = da_n⊙gh_n⊙r(1-r);
 * da_z = dh⊙(hPrev-n)⊙z(1-z). Writes dGi = [da_r, da_z, da_n] and dGh = [da_r, da_z, da_n⊙r]
 * ([B,3H] each) and, when dhPrev ≠ 0, adds dh⊙z into dhPrev [B,H].
 */
export function gruBackwardF32(dGi: usize, dGh: usize, Gi: usize, Gh: usize, hPrev: usize, dh: usize, dhPrev: usize, B: i32, H: i32): void {
  const hb = <usize>H * 4;
  const one = f32x4.splat(1);
  for (let b = 0; b < B; b++) {
    const gi = Gi + <usize>b * 3 * hb;
    const gh = Gh + <usize>b * 3 * hb;
    const di = dGi + <usize>b * 3 * hb;
    const dg = dGh + <usize>b * 3 * hb;
    const s = <usize>b * hb;
    for (let j = 0; j < H; j += 4) {
      const n = min(4, H - j);
      const o4 = <usize>j * 4;
      const r = ld(gi + o4, n);
      const z = ld(gi + hb + o4, n);
      const nn = ld(gi + 2 * hb + o4, n);
      const d = ld(dh + s + o4, n);
      const dan = f32x4.mul(f32x4.mul(d, f32x4.sub(one, z)), oneMinusSq(nn));
      const dar = f32x4.mul(f32x4.mul(dan, ld(gh + 2 * hb + o4, n)), f32x4.mul(r, f32x4.sub(one, r)));
      const daz = f32x4.mul(f32x4.mul(d, f32x4.sub(ld(hPrev + s + o4, n), nn)), f32x4.mul(z, f32x4.sub(one, z)));
      st(di + o4, dar, n);
      st(di + hb + o4, daz, n);
      st(di + 2 * hb + o4, dan, n);
      st(dg + o4, dar, n);
      st(dg + hb + o4, daz, n);
      st(dg + 2 * hb + o4, f32x4.mul(dan, r), n);
      if (dhPrev) st(dhPrev + s + o4, f32x4.add(ld(dhPrev + s + o4, n), f32x4.mul(d, z)), n);
    }
  }
}
