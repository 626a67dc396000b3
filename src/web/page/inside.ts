// "Inside the model": a sentence's tokens coloured by surprisal, the five likeliest next tokens
// on hover or keyboard focus, and the hidden state as a heat map. Re-read every few seconds
// while the model trains and this view is shown.

import type { FromWorker } from '../protocol.js';
import type { WorkerClient } from './client.js';
import { drawHeatmap, legendGradient, valueRange } from './heatmap.js';

type AnalysisMsg = Extract<FromWorker, { type: 'analysis' }>;

/** Surprisal (bits) at which the colour is fully red. */
const MAX_BITS = 12;
/** Re-read the sentence this often while training and the view is shown (ms). */
const REFRESH_MS = 2000;

/** Background colour for a surprisal: green (0 bits) through yellow to red (≥ MAX_BITS). */
export function surprisalColor(bits: number): string {
  const t = Math.max(0, Math.min(1, bits / MAX_BITS));
  return `hsl(${Math.round(120 * (1 - t))}, 75%, ${Math.round(86 - 8 * t)}%)`;
}

const pct = (p: number): string => (p >= 0.1 ? `${(100 * p).toFixed(0)}%` : p >= 0.001 ? `${(100 * p).toFixed(1)}%` : `${(100 * p).toExponential(0)}%`);

export class InsideView {
  private readonly input = document.getElementById('inside-text') as HTMLInputElement;
  private readonly tokensEl = document.getElementById('tokens')!;
  private readonly tip = document.getElementById('token-tip')!;
  private readonly summary = document.getElementById('inside-summary')!;
  private readonly canvas = document.getElementById('heatmap') as HTMLCanvasElement;
  private last: AnalysisMsg | null = null;
  private busy = false;
  private again = false;
  private lastRead = 0;

  constructor(private readonly client: WorkerClient, private readonly visible: () => boolean) {
    document.getElementById('inside-form')!.addEventListener('submit', (e) => {
      e.preventDefault();
      void this.read();
    });
    new ResizeObserver(() => this.drawHeat()).observe(this.canvas.parentElement!);
  }

  /** Called on each progress message: re-read now and then while the view is shown. */
  tick(): void {
    if (this.visible() && performance.now() - this.lastRead > REFRESH_MS) void this.read();
  }

  async read(): Promise<void> {
    if (this.busy) {
      this.again = true; // read once more when this one is back: the text may have changed
      return;
    }
    this.busy = true;
    this.lastRead = performance.now();
    try {
      const text = this.input.value.trim();
      if (text === '') return;
      this.render(await this.client.request({ type: 'analyze', text }, 'analysis'));
    } catch (err) {
      this.summary.textContent = (err as Error).message;
    } finally {
      this.busy = false;
      if (this.again) {
        this.again = false;
        void this.read();
      }
    }
  }

  private render(a: AnalysisMsg): void {
    const focused = document.activeElement instanceof HTMLElement && this.tokensEl.contains(document.activeElement) ? Number(document.activeElement.dataset.index) : -1;
    this.last = a;
    this.tokensEl.replaceChildren(...a.tokens.map((t, i) => {
      const el = document.createElement('span');
      el.className = `token${t.unknown ? ' unknown' : ''}`;
      el.setAttribute('role', 'listitem');
      el.tabIndex = 0;
      el.dataset.index = String(i);
      el.dataset.surprisal = String(t.surprisal);
      el.style.background = surprisalColor(t.surprisal);
      el.textContent = t.token;
      el.setAttribute('aria-label', `${t.token}: ${t.surprisal.toFixed(1)} bits${t.unknown ? ', not in the vocabulary' : ''}`);
      el.addEventListener('mouseenter', () => this.showTip(el, i));
      el.addEventListener('focus', () => this.showTip(el, i));
      el.addEventListener('click', () => this.showTip(el, i)); // a tap on a phone
      el.addEventListener('mouseleave', () => this.hideTip(el));
      el.addEventListener('blur', () => this.hideTip(el));
      el.addEventListener('keydown', (e) => {
        if (e.key === 'Escape') this.hideTip(el);
      });
      return el;
    }));
    if (focused >= 0) (this.tokensEl.children[focused] as HTMLElement | undefined)?.focus();
    const bits = a.tokens.reduce((s, t) => s + t.surprisal, 0);
    this.summary.textContent = `${a.tokens.length} tokens, ${bits.toFixed(1)} bits in all: perplexity ${a.perplexity.toFixed(2)} on this text.`;
    this.drawHeat();
  }

  private showTip(el: HTMLElement, i: number): void {
    const t = this.last?.tokens[i];
    if (!t) return;
    const rows = t.next.map((n) => `<tr><td>${escapeHtml(n.token)}</td><td>${pct(n.p)}</td></tr>`).join('');
    this.tip.innerHTML = `<p><strong>${escapeHtml(t.token)}</strong>: ${t.surprisal.toFixed(2)} bits${t.unknown ? ' (not in the vocabulary: read as &lt;unk&gt;)' : ''}</p><p>next, the model expects</p><table>${rows}</table>`;
    this.tip.id = 'token-tip';
    el.setAttribute('aria-describedby', 'token-tip');
    this.tip.hidden = false;
    const r = el.getBoundingClientRect();
    const host = this.tip.offsetParent?.getBoundingClientRect() ?? { left: 0, top: 0 };
    const w = this.tip.offsetWidth;
    const left = Math.max(4, Math.min(r.left - host.left, document.documentElement.clientWidth - w - 8 - host.left));
    this.tip.style.left = `${left}px`;
    this.tip.style.top = `${r.bottom - host.top + 6}px`;
  }

  private hideTip(el: HTMLElement): void {
    el.removeAttribute('aria-describedby');
    this.tip.hidden = true;
  }

  private drawHeat(): void {
    const a = this.last;
    if (!a) return;
    const n = a.inputs.length;
    drawHeatmap(this.canvas, { values: a.hidden, n, H: a.H, labels: a.inputs }, this.canvas.parentElement!.clientWidth);
    const [lo, hi] = valueRange(a.hidden);
    document.getElementById('heat-bar')!.style.background = legendGradient(lo);
    document.getElementById('heat-lo')!.textContent = lo < 0 ? (-Math.max(-lo, hi)).toFixed(2) : lo.toFixed(2);
    document.getElementById('heat-hi')!.textContent = (lo < 0 ? Math.max(-lo, hi) : hi).toFixed(2);
    document.getElementById('heat-scale')!.textContent = `${a.H} units × ${n} tokens, values from ${lo.toFixed(2)} to ${hi.toFixed(2)}.`;
  }
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}
