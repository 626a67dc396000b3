// The page's two line charts, on uPlot: perplexity against training steps (train, validation,
// the uniform |V| line and the grammar's floor, log scale) and the BPTT view's gradient norms
// against k (log scale; the live run solid, earlier runs dashed). Each redraws at most once a frame.

import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export const COLORS = {
  train: '#1f6fb4',
  trainRaw: 'rgba(31, 111, 180, 0.25)',
  valid: '#d9480f',
  uniform: '#6b7280',
  floor: '#2f9e44',
  layers: ['#1f6fb4', '#d9480f', '#7048e8', '#0c8599'],
  pinned: ['#868e96', '#ae3ec9', '#e8590c', '#2b8a3e', '#c2255c'],
};

const AXIS = { stroke: '#374151', grid: { stroke: '#e5e7eb', width: 1 }, ticks: { stroke: '#d1d5db', width: 1 } };

/** Chart width follows its container; height is fixed per chart (smaller on phones). */
function track(el: HTMLElement, plot: () => uPlot | null, height: () => number): void {
  new ResizeObserver(() => {
    const p = plot();
    if (p) p.setSize({ width: Math.max(200, el.clientWidth), height: height() });
  }).observe(el);
}

const chartHeight = (tall: number): (() => number) => () => (window.innerWidth < 600 ? Math.round(tall * 0.75) : tall);

/** Redraws batched to one per animation frame. */
class Frame {
  private pending = false;
  constructor(private readonly draw: () => void) {}
  request(): void {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.draw();
    });
  }
}

/** A log-scale range around [min, max] that is always valid (uPlot's log splits loop on a bad one). */
function logRange(min: number | null, max: number | null, cap = Infinity): [number, number] {
  let lo = min !== null && Number.isFinite(min) && min > 0 ? min : NaN;
  let hi = max !== null && Number.isFinite(max) && max > 0 ? Math.min(max, cap) : NaN;
  if (Number.isNaN(lo) || Number.isNaN(hi)) return [1, 10];
  if (hi <= lo) hi = lo * 10;
  lo = lo / 1.15;
  hi = hi * 1.15;
  return [lo, hi];
}

/** Ticks at 1, 2, 5 × 10^e inside [min, max] (or every few decades when the range is wide). */
function logSplits(min: number, max: number): number[] {
  const e0 = Math.floor(Math.log10(min));
  const e1 = Math.ceil(Math.log10(max));
  const decades = e1 - e0;
  const out: number[] = [];
  if (decades <= 3) {
    for (let e = e0; e <= e1; e++) for (const m of [1, 2, 5]) if (m * 10 ** e >= min && m * 10 ** e <= max) out.push(m * 10 ** e);
  } else {
    const every = Math.max(1, Math.ceil(decades / 7));
    for (let e = e0; e <= e1; e++) if (e % every === 0 && 10 ** e >= min && 10 ** e <= max) out.push(10 ** e);
  }
  return out;
}

const compact = (v: number): string => (v >= 1e6 ? `${v / 1e6}M` : v >= 1e3 ? `${v / 1e3}k` : String(Number(v.toPrecision(3))));

const fmtPpl = (v: number | null): string => (v === null || v === undefined ? '–' : v >= 100 ? v.toFixed(0) : v.toFixed(2));

/** Perplexity against steps. */
export class PerplexityChart {
  private x: number[] = [];
  private raw: (number | null)[] = [];
  private smooth: (number | null)[] = [];
  private valid: (number | null)[] = [];
  private ema = 0;
  private emaWeight = 0;
  private uniform: number | null = null;
  private floor: number | null = null;
  private plot: uPlot | null = null;
  private readonly frame = new Frame(() => this.draw());
  private readonly height = chartHeight(300);

  constructor(private readonly el: HTMLElement) {
    track(el, () => this.plot, this.height);
  }

  private make(): uPlot {
    this.el.querySelector('.placeholder')?.remove();
    const series: uPlot.Series[] = [
      { label: 'step' },
      { label: 'train (each step)', stroke: COLORS.trainRaw, width: 1, value: (_u, v) => fmtPpl(v), points: { show: false } },
      { label: 'train (smoothed)', stroke: COLORS.train, width: 2, value: (_u, v) => fmtPpl(v), points: { show: false } },
      { label: 'validation', stroke: COLORS.valid, width: 2, spanGaps: true, value: (_u, v) => fmtPpl(v), points: { show: true, size: 6, fill: COLORS.valid } },
      { label: `uniform |V|`, stroke: COLORS.uniform, width: 1.5, dash: [6, 4], value: (_u, v) => fmtPpl(v), points: { show: false } },
      { label: 'grammar floor', stroke: COLORS.floor, width: 1.5, dash: [2, 3], value: (_u, v) => fmtPpl(v), points: { show: false }, show: this.floor !== null },
    ];
    return new uPlot({
      width: Math.max(200, this.el.clientWidth), height: this.height(), series,
      // above a few times |V| (SGD's first steps can spike there) the curve says nothing: cut it
      scales: { x: { time: false }, y: { distr: 3, range: (_u, min, max) => logRange(min, max, this.uniform !== null ? 3 * this.uniform : Infinity) } },
      axes: [
        { ...AXIS, label: 'training step' },
        { ...AXIS, label: 'perplexity (log scale)', size: 56, splits: (u) => logSplits(u.scales.y.min!, u.scales.y.max!), values: (_u, vals) => vals.map((v) => (v === null ? '' : compact(v))) },
      ],
      cursor: { drag: { x: false, y: false } },
      legend: { live: true },
    }, this.data(), this.el);
  }

  private data(): uPlot.AlignedData {
    const n = this.x.length;
    const constant = (v: number | null): (number | null)[] => new Array<number | null>(n).fill(v);
    return [this.x, this.raw, this.smooth, this.valid, constant(this.uniform), constant(this.floor)] as uPlot.AlignedData;
  }

  private draw(): void {
    if (!this.plot) this.plot = this.make();
    else this.plot.setData(this.data());
  }

  /** Start over for a new run with these reference lines. */
  reset(uniform: number | null, floor: number | null): void {
    this.x = [];
    this.raw = [];
    this.smooth = [];
    this.valid = [];
    this.ema = 0;
    this.emaWeight = 0;
    this.uniform = uniform;
    this.floor = floor;
    this.plot?.destroy();
    this.plot = null;
    this.frame.request();
  }

  addStep(step: number, perplexity: number): void {
    // exponential moving average of the log-perplexity (bias-corrected, as Adam's moments)
    this.ema = 0.9 * this.ema + 0.1 * Math.log(perplexity);
    this.emaWeight = 0.9 * this.emaWeight + 0.1;
    this.x.push(step);
    this.raw.push(perplexity);
    this.smooth.push(Math.exp(this.ema / this.emaWeight));
    this.valid.push(null);
    this.frame.request();
  }

  addValid(step: number, perplexity: number): void {
    const i = this.x.lastIndexOf(step);
    if (i >= 0) {
      this.valid[i] = perplexity;
    } else {
      this.x.push(step);
      this.raw.push(null);
      this.smooth.push(null);
      this.valid.push(perplexity);
    }
    this.frame.request();
  }
}

export interface BpttCurve {
  label: string;
  norms: number[];
  dashed: boolean;
  color: string;
}

/** ‖∂J(T)/∂h(T−k)‖ against k. */
export class BpttChart {
  private curves: BpttCurve[] = [];
  private plot: uPlot | null = null;
  private shape = '';
  private readonly frame = new Frame(() => this.draw());
  private readonly height = chartHeight(320);

  constructor(private readonly el: HTMLElement) {
    track(el, () => this.plot, this.height);
  }

  set(curves: BpttCurve[]): void {
    this.curves = curves;
    this.frame.request();
  }

  private draw(): void {
    if (this.curves.length === 0) {
      this.plot?.destroy();
      this.plot = null;
      this.shape = '';
      return;
    }
    const shape = this.curves.map((c) => `${c.label}|${c.color}|${c.dashed}`).join(';');
    const K = Math.max(1, ...this.curves.map((c) => c.norms.length));
    const x = Array.from({ length: K }, (_, k) => k);
    // a norm of exactly 0 (k beyond a shorter segment) has no place on a log scale
    const ys = this.curves.map((c) => x.map((k) => (k < c.norms.length && c.norms[k] > 0 ? c.norms[k] : null)));
    const data = [x, ...ys] as uPlot.AlignedData;
    if (this.plot && shape === this.shape) {
      this.plot.setData(data);
      return;
    }
    this.plot?.destroy();
    this.el.querySelector('.placeholder')?.remove();
    this.shape = shape;
    this.plot = new uPlot({
      width: Math.max(200, this.el.clientWidth), height: this.height(),
      series: [
        { label: 'k' },
        ...this.curves.map((c): uPlot.Series => ({
          label: c.label, stroke: c.color, width: c.dashed ? 1.5 : 2.5, dash: c.dashed ? [6, 4] : undefined, points: { show: false },
          value: (_u, v) => (v === null || v === undefined ? '–' : v.toExponential(2)),
        })),
      ],
      scales: { x: { time: false }, y: { distr: 3, range: (_u, min, max) => logRange(min, max) } },
      axes: [
        { ...AXIS, label: 'k: steps back from T' },
        { ...AXIS, label: '‖∂J(T)/∂h(T−k)‖ (log scale)', size: 64, splits: (u) => logSplits(u.scales.y.min!, u.scales.y.max!), values: (_u, vals) => vals.map((v) => (v === null ? '' : v.toExponential(0).replace('e+0', ''))) },
      ],
      cursor: { drag: { x: false, y: false } },
    }, data, this.el);
  }
}
