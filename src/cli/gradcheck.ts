// `rnnlm gradcheck`: the float64 finite-difference check of every parameter tensor.

import { RnnlmError } from '../errors.js';
import { CELLS, ELMAN_CELLS, type Cell } from '../nn/config.js';
import { gradcheck } from '../nn/gradcheck.js';

export const GRADCHECK_TOLERANCE = 1e-6;

export interface GradcheckFlags {
  cell?: Cell;
  layers: number;
  steps: number;
  seed: number;
  dropout?: number;
  tied?: boolean;
  classes?: number;
  output?: 'softmax' | 'hs';
  direct?: number;
  directOrder?: number;
  foldInput?: boolean;
  json?: boolean;
}

/** Checks every cell (Elman sigmoid / tanh / relu, LSTM, GRU) unless --cell names one (--fold-input: the Elman cells). */
export async function gradcheckCommand(f: GradcheckFlags): Promise<void> {
  const cells = f.cell ? [f.cell] : f.foldInput ? [...ELMAN_CELLS] : [...CELLS];
  const results = cells.map((cell) => gradcheck({
    cell, layers: f.layers, T: f.steps, seed: f.seed, dropout: f.dropout ?? 0, tied: f.tied ?? false, classes: f.classes ?? 0,
    output: f.output, direct: f.direct ?? 0, directOrder: f.directOrder, foldInput: f.foldInput ?? false,
  }));
  const worst = Math.max(...results.map((r) => r.maxRelError));
  const pass = worst <= GRADCHECK_TOLERANCE;
  if (f.json) {
    process.stdout.write(`${JSON.stringify({ pass, tolerance: GRADCHECK_TOLERANCE, max_rel_error: worst, results })}\n`);
  } else {
    for (const r of results) {
      const extras = [
        r.dropout > 0 ? `dropout ${r.dropout}` : '', r.tied ? 'tied' : '', r.classes > 0 ? `${r.classes} classes` : '',
        r.output === 'hs' ? 'hierarchical softmax' : '', r.direct > 0 ? `max-ent table of ${r.direct}` : '', r.foldInput ? 'folded input' : '',
      ].filter(Boolean);
      process.stdout.write(`cell ${r.cell}, ${r.layers} layers, T=${r.T}, B=${r.B}${extras.map((e) => `, ${e}`).join('')}, loss ${r.loss.toFixed(6)}\n`);
      for (const t of r.tensors) {
        process.stdout.write(`  ${t.name.padEnd(20)} ${String(t.size).padStart(4)} values  max rel error ${t.maxRelError.toExponential(2)}  max abs error ${t.maxAbsError.toExponential(2)}  max |grad| ${t.maxGrad.toExponential(2)}\n`);
      }
    }
    process.stdout.write(`${pass ? 'PASS' : 'FAIL'}: max relative error ${worst.toExponential(2)} (tolerance ${GRADCHECK_TOLERANCE})\n`);
  }
  if (!pass) throw new RnnlmError(`gradient check failed: max relative error ${worst.toExponential(2)} > ${GRADCHECK_TOLERANCE}`, 4);
}
