// The BPTT view: the live probe's norms ‖∂J(T)/∂h(T−k)‖ (one curve per layer), the last curve of
// each earlier run of this page (dashed), a one-line reading of the decay, and the numbers.

import type { BpttMessage } from '../protocol.js';
import { BpttChart, COLORS, type BpttCurve } from './charts.js';

/** Geometric mean factor per step back: (‖·‖ at k = K−1 / ‖·‖ at k = 0)^(1/(K−1)). */
export function decayPerStep(norms: number[]): number {
  const K = norms.length;
  if (K < 2 || !(norms[0] > 0) || !(norms[K - 1] > 0)) return NaN;
  return (norms[K - 1] / norms[0]) ** (1 / (K - 1));
}

const layerName = (l: number, L: number): string => (L === 1 ? '' : ` layer ${l + 1}`);

export class BpttView {
  private readonly chart = new BpttChart(document.getElementById('bptt-chart')!);
  private readonly summary = document.getElementById('bptt-summary')!;
  private readonly table = document.getElementById('bptt-table') as HTMLTableElement;
  private current: BpttMessage | null = null;
  private pinned: BpttCurve[] = [];

  /** The latest probe of the current run. */
  get latest(): BpttMessage | null {
    return this.current;
  }

  update(m: BpttMessage): void {
    this.current = m;
    this.redraw();
    const top = m.norms[m.layers - 1];
    const f = decayPerStep(top);
    const K = top.length;
    const ratio = top[K - 1] / top[0];
    this.summary.textContent = Number.isFinite(f)
      ? `${m.cell}, step ${m.step}: going back one step multiplies the gradient by ${f.toFixed(3)} on average; after ${K - 1} steps it is ${ratio.toExponential(1)} of its size at k = 0${f < 0.7 ? ' — it vanishes' : f < 0.95 ? ' — it fades' : ' — it carries far'}.`
      : `${m.cell}, step ${m.step}.`;
    this.fillTable(m);
  }

  /** A new run starts: the current curve (top layer) joins the earlier runs. */
  pinCurrent(): void {
    const m = this.current;
    if (!m) return;
    this.pinned.push({
      label: `${m.cell}, step ${m.step} (earlier)`, norms: m.norms[m.layers - 1], dashed: true,
      color: COLORS.pinned[this.pinned.length % COLORS.pinned.length],
    });
    this.current = null;
    this.redraw();
  }

  clearPinned(): void {
    this.pinned = [];
    this.redraw();
  }

  private redraw(): void {
    const m = this.current;
    // labels stay the same while a run goes on: the chart only rebuilds on a new set of series
    const live: BpttCurve[] = m
      ? m.norms.map((n, l) => ({ label: `${m.cell}${layerName(l, m.layers)} (now)`, norms: n, dashed: false, color: COLORS.layers[l % COLORS.layers.length] }))
      : [];
    this.chart.set([...this.pinned, ...live]);
  }

  private fillTable(m: BpttMessage): void {
    const head = this.table.tHead!.rows[0];
    const want = ['k', ...m.norms.map((_, l) => `‖∂J(T)/∂h(T−k)‖${layerName(l, m.layers)}`)];
    if (head.cells.length !== want.length || [...head.cells].some((c, i) => c.textContent !== want[i])) {
      head.replaceChildren(...want.map((w) => Object.assign(document.createElement('th'), { scope: 'col', textContent: w })));
    }
    this.table.dataset.step = String(m.step);
    this.table.dataset.cell = m.cell;
    const body = this.table.tBodies[0];
    const rows = m.norms[0].map((_, k) => {
      const tr = document.createElement('tr');
      const th = Object.assign(document.createElement('th'), { scope: 'row', textContent: String(k) });
      tr.append(th, ...m.norms.map((n) => {
        const td = document.createElement('td');
        td.dataset.value = String(n[k]);
        td.textContent = n[k].toExponential(3);
        return td;
      }));
      return tr;
    });
    body.replaceChildren(...rows);
  }
}
