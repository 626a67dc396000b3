// `rnnlm eval`, `rnnlm generate`, `rnnlm score`: load a checkpoint, then one library call each.

import { createNodeKernels } from '../node/platform.js';
import { loadModel } from '../node/checkpoint-file.js';
import { readText } from '../node/text-file.js';
import { splitLines } from '../data/vocab.js';
import { evaluateText } from '../tasks/evaluate.js';
import { generateIds, tokenText } from '../infer/generate.js';
import { scoreLine } from '../infer/score.js';
import type { Backend } from '../kernels/select.js';

interface ModelFlags {
  model: string;
  backend: Backend;
  threads?: number;
}

async function load(f: ModelFlags) {
  const kernels = await createNodeKernels({ backend: f.backend, threads: f.threads });
  return loadModel(f.model, kernels);
}

export async function evalCommand(f: ModelFlags & { text: string; json?: boolean }): Promise<void> {
  const { model, vocab } = await load(f);
  const r = evaluateText(model, vocab, readText(f.text), f.text);
  if (f.json) {
    process.stdout.write(`${JSON.stringify({
      perplexity: r.perplexity, tokens: r.tokens, nll: r.nll, cross_entropy: r.crossEntropy, bits_per_token: r.bitsPerToken,
      unk_rate: r.unkRate, unknown: r.unknown, source_perplexity: r.sourcePerplexity ?? null, model: f.model, text: f.text,
    })}\n`);
    return;
  }
  const unit = vocab.level === 'word' ? 'token' : 'char';
  const lines = [
    `perplexity      ${r.perplexity.toFixed(3)}`,
    `cross-entropy   ${r.crossEntropy.toFixed(5)} nats/${unit}, ${r.bitsPerToken.toFixed(5)} bits/${unit}`,
    `tokens          ${r.tokens} predicted (${(100 * r.unkRate).toFixed(2)}% <unk>, ${r.unknown} out of vocabulary)`,
  ];
  if (r.sourcePerplexity !== undefined) lines.push(`source floor    ${r.sourcePerplexity.toFixed(3)} (the generating grammar's own perplexity on this text)`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

export async function generateCommand(f: ModelFlags & { prime: string; length: number; temperature: number; topK: number; seed: number }): Promise<void> {
  const { model, vocab } = await load(f);
  if (f.prime) process.stdout.write(vocab.level === 'word' ? `${f.prime.trim()} ` : f.prime);
  let buf = '';
  for (const id of generateIds(model, vocab, { prime: f.prime, length: f.length, temperature: f.temperature, topK: f.topK, seed: f.seed })) {
    buf += tokenText(vocab, id);
    if (buf.length > 64 || buf.endsWith('\n')) {
      process.stdout.write(buf);
      buf = '';
    }
  }
  process.stdout.write(buf.endsWith('\n') ? buf : `${buf.trimEnd()}\n`);
}

export async function scoreCommand(f: ModelFlags & { text: string; json?: boolean }): Promise<void> {
  const { model, vocab } = await load(f);
  const lines = splitLines(readText(f.text));
  const rows = lines.map((line) => ({ line, ...scoreLine(model, vocab, line) }));
  if (f.json) {
    process.stdout.write(`${JSON.stringify({
      lines: rows.map((r) => ({ ln_prob: r.logProb, log10_prob: r.log10Prob, tokens: r.tokens, unknown: r.unknown })),
      total_ln_prob: rows.reduce((s, r) => s + r.logProb, 0), total_tokens: rows.reduce((s, r) => s + r.tokens, 0),
    })}\n`);
    return;
  }
  for (const r of rows) process.stdout.write(`${r.logProb.toFixed(4)}\t${r.log10Prob.toFixed(4)}\t${r.tokens}\n`);
}
