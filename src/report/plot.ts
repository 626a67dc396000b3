// A learning-curve plot as a standalone SVG: training and validation perplexity per epoch,
// on a log scale (perplexity falls over orders of magnitude early on). Pure: returns the text.

import type { EpochRecord } from '../train/trainer.js';

const W = 640;
const H = 400;
const M = { left: 64, right: 24, top: 40, bottom: 48 };

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function perplexityPlotSvg(history: readonly EpochRecord[], title = 'perplexity per epoch'): string {
  const series: Array<{ name: string; color: string; pts: Array<[number, number]> }> = [
    { name: 'train', color: '#1f77b4', pts: history.map((r): [number, number] => [r.epoch, r.trainPerplexity]) },
    { name: 'valid', color: '#d62728', pts: history.filter((r) => r.validPerplexity !== null).map((r): [number, number] => [r.epoch, r.validPerplexity as number]) },
  ].filter((s) => s.pts.length > 0);
  const ys = series.flatMap((s) => s.pts.map((p) => p[1])).filter((y) => Number.isFinite(y) && y > 0);
  const maxEpoch = Math.max(1, ...history.map((r) => r.epoch));
  const lo = ys.length ? Math.log10(Math.min(...ys)) : 0;
  const hi = ys.length ? Math.log10(Math.max(...ys)) : 1;
  const y0 = Math.floor(lo * 10) / 10;
  const y1 = Math.max(Math.ceil(hi * 10) / 10, y0 + 0.1);
  const px = (e: number): number => M.left + ((e - (maxEpoch > 1 ? 1 : 0)) / Math.max(maxEpoch - (maxEpoch > 1 ? 1 : 0), 1)) * (W - M.left - M.right);
  const py = (v: number): number => M.top + (1 - (Math.log10(v) - y0) / (y1 - y0)) * (H - M.top - M.bottom);
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${W / 2}" y="22" text-anchor="middle" font-size="14">${esc(title)}</text>`);
  // y grid at 1-2-5 steps within the range
  for (let d = Math.floor(y0); d <= Math.ceil(y1); d++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** d;
      const l = Math.log10(v);
      if (l < y0 - 1e-9 || l > y1 + 1e-9) continue;
      const y = py(v).toFixed(1);
      out.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${y}" y2="${y}" stroke="#ddd"/>`);
      out.push(`<text x="${M.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${v >= 1000 ? v.toExponential(0) : v}</text>`);
    }
  }
  const step = Math.max(1, Math.ceil(maxEpoch / 10));
  for (let e = 1; e <= maxEpoch; e += step) {
    out.push(`<text x="${px(e).toFixed(1)}" y="${H - M.bottom + 18}" text-anchor="middle">${e}</text>`);
  }
  out.push(`<text x="${(M.left + W - M.right) / 2}" y="${H - 10}" text-anchor="middle">epoch</text>`);
  out.push(`<line x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${H - M.bottom}" stroke="#333"/>`);
  out.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${H - M.bottom}" y2="${H - M.bottom}" stroke="#333"/>`);
  series.forEach((s, i) => {
    const pts = s.pts.filter((p) => Number.isFinite(p[1]) && p[1] > 0);
    const d = pts.map((p) => `${px(p[0]).toFixed(1)},${py(p[1]).toFixed(1)}`).join(' ');
    out.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${d}"/>`);
    for (const p of pts) out.push(`<circle cx="${px(p[0]).toFixed(1)}" cy="${py(p[1]).toFixed(1)}" r="3" fill="${s.color}"><title>${s.name} epoch ${p[0]}: ${p[1].toFixed(2)}</title></circle>`);
    const last = pts[pts.length - 1];
    out.push(`<text x="${W - M.right - 4}" y="${M.top + 14 + 16 * i}" text-anchor="end" fill="${s.color}">${s.name}${last ? ` ${last[1].toFixed(1)}` : ''}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
