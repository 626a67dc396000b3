// The hidden state as a heat map: one column per token read, one row per hidden unit, each cell
// coloured by h_j(t). Values of both signs (tanh, LSTM, GRU) use a diverging blue–white–red
// scale centred on 0; all-positive values (the sigmoid network) a white-to-violet one.
// Legend: n columns (tokens), H rows (units).

/** Colour of v in [lo, hi] as [r, g, b]. */
export function heatColor(v: number, lo: number, hi: number): [number, number, number] {
  if (lo < 0) {
    const m = Math.max(-lo, hi, 1e-12);
    const a = Math.max(-1, Math.min(1, v / m));
    // white at 0, #2166ac at -1, #b2182b at +1
    const end = a < 0 ? [33, 102, 172] : [178, 24, 43];
    const t = Math.abs(a);
    return [0, 1, 2].map((i) => Math.round(255 + (end[i] - 255) * t)) as [number, number, number];
  }
  const t = Math.max(0, Math.min(1, (v - lo) / Math.max(hi - lo, 1e-12)));
  const end = [84, 39, 143]; // #54278f
  return [0, 1, 2].map((i) => Math.round(255 + (end[i] - 255) * t)) as [number, number, number];
}

export interface HeatmapInput {
  /** h [n, H]: row t is the state after reading column t's token. */
  values: Float32Array;
  n: number;
  H: number;
  labels: string[];
}

/** The value range of the map: [min, max] over all cells (min < 0 selects the diverging scale). */
export function valueRange(values: Float32Array): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [Math.min(lo, 0), Math.max(hi, 0)];
}

/** Draw the map into the canvas, sized to fit `width` CSS pixels (columns at least 14 px wide when they fit). */
export function drawHeatmap(canvas: HTMLCanvasElement, input: HeatmapInput, width: number): void {
  const { values, n, H, labels } = input;
  const [lo, hi] = valueRange(values);
  const labelH = 64;
  const rowH = H <= 64 ? 4 : H <= 256 ? 2 : 1;
  const colW = Math.max(4, Math.min(72, Math.floor(width / Math.max(n, 1))));
  const cssW = colW * n;
  const cssH = rowH * H + labelH;
  const dpr = window.devicePixelRatio || 1;
  canvas.width = Math.ceil(cssW * dpr);
  canvas.height = Math.ceil(cssH * dpr);
  canvas.style.width = `${cssW}px`;
  canvas.style.height = `${cssH}px`;
  const ctx = canvas.getContext('2d')!;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, cssW, cssH);
  for (let t = 0; t < n; t++) {
    for (let j = 0; j < H; j++) {
      const [r, g, b] = heatColor(values[t * H + j], lo, hi);
      ctx.fillStyle = `rgb(${r},${g},${b})`;
      ctx.fillRect(t * colW, j * rowH, colW, rowH);
    }
  }
  // column labels, rotated, under the map
  ctx.fillStyle = '#1f2937';
  ctx.font = '11px system-ui, sans-serif';
  ctx.textBaseline = 'middle';
  for (let t = 0; t < n; t++) {
    ctx.save();
    ctx.translate(t * colW + colW / 2, rowH * H + 4);
    ctx.rotate(Math.PI / 3);
    const label = labels[t].length > 10 ? `${labels[t].slice(0, 9)}…` : labels[t];
    ctx.fillText(label, 0, 0);
    ctx.restore();
  }
}

/** A CSS gradient for the legend of the current scale. */
export function legendGradient(lo: number): string {
  if (lo < 0) return 'linear-gradient(to right, rgb(33,102,172), #fff, rgb(178,24,43))';
  return 'linear-gradient(to right, #fff, rgb(84,39,143))';
}
