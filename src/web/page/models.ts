// The Models view: load a .safetensors checkpoint (the CLI's format), evaluate the current
// model's exact perplexity on a text, generate from it, and download it.

import type { ModelInfo, TextSource } from '../protocol.js';
import type { WorkerClient } from './client.js';

export function describeModel(m: ModelInfo): string {
  const shape = `${m.cell}, ${m.layers > 1 ? `${m.layers} layers × ` : ''}${m.hidden} hidden, embedding ${m.embed}, |V| = ${m.vocabSize.toLocaleString('en')} ${m.level === 'word' ? 'words' : 'characters'}`;
  const extras = [m.classes > 0 ? `${m.classes} classes` : '', m.dropout > 0 ? `dropout ${m.dropout}` : ''].filter((s) => s !== '');
  return `${shape}${extras.length ? `, ${extras.join(', ')}` : ''}; ${m.params.toLocaleString('en')} parameters`;
}

export class ModelsView {
  private readonly info = document.getElementById('model-info')!;
  private readonly result = document.getElementById('eval-result') as HTMLOutputElement;
  private readonly genOut = document.getElementById('gen-output')!;

  constructor(private readonly client: WorkerClient, private readonly onLoaded: (m: ModelInfo) => void) {
    const file = document.getElementById('model-file') as HTMLInputElement;
    file.addEventListener('change', () => {
      const f = file.files?.[0];
      if (f) void this.load(f);
      file.value = '';
    });
    const drop = document.getElementById('model-drop')!;
    drop.addEventListener('dragover', (e) => {
      e.preventDefault();
      drop.classList.add('over');
    });
    drop.addEventListener('dragleave', () => drop.classList.remove('over'));
    drop.addEventListener('drop', () => drop.classList.remove('over'));
    document.getElementById('eval-form')!.addEventListener('submit', (e) => {
      e.preventDefault();
      void this.evaluate();
    });
    document.getElementById('gen-form')!.addEventListener('submit', (e) => {
      e.preventDefault();
      void this.generate();
    });
    document.getElementById('download')!.addEventListener('click', () => void this.download());
  }

  showModel(m: ModelInfo | null): void {
    this.info.textContent = m ? `The current model${m.origin === 'new' ? ' (trained here)' : ` (${m.origin})`}: ${describeModel(m)}.` : 'The current model: none yet.';
  }

  async load(f: File): Promise<void> {
    this.info.textContent = `Reading ${f.name}…`;
    try {
      const bytes = new Uint8Array(await f.arrayBuffer());
      const r = await this.client.request({ type: 'load', bytes, name: f.name }, 'loaded', [bytes.buffer]);
      this.onLoaded(r.model);
    } catch (err) {
      this.info.textContent = `${f.name}: ${(err as Error).message}`;
    }
  }

  private async evaluate(): Promise<void> {
    const which = (document.getElementById('eval-source') as HTMLSelectElement).value;
    const source: TextSource = which === 'text'
      ? { text: (document.getElementById('eval-text') as HTMLTextAreaElement).value, name: 'the text below' }
      : { builtin: which === 'builtin:valid' ? 'valid' : 'test' };
    this.result.textContent = 'Evaluating…';
    delete this.result.dataset.perplexity;
    try {
      const r = await this.client.request({ type: 'evaluate', source }, 'evaluation');
      this.result.dataset.perplexity = String(r.perplexity);
      this.result.dataset.tokens = String(r.tokens);
      const floor = r.sourcePerplexity !== null ? `; the grammar's own: ${r.sourcePerplexity.toFixed(3)}` : '';
      this.result.textContent = `${r.name}: perplexity ${r.perplexity.toFixed(3)} (${r.crossEntropy.toFixed(4)} nats, ${r.bitsPerToken.toFixed(3)} bits per token) over ${r.tokens.toLocaleString('en')} tokens, ${(100 * r.unkRate).toFixed(2)}% <unk>${floor}.`;
    } catch (err) {
      this.result.textContent = (err as Error).message;
    }
  }

  private async generate(): Promise<void> {
    const num = (id: string): number => Number((document.getElementById(id) as HTMLInputElement).value);
    try {
      const r = await this.client.request({
        type: 'generate', prime: (document.getElementById('gen-prime') as HTMLInputElement).value.trim(),
        length: num('gen-length'), temperature: num('gen-temperature'), topK: num('gen-topk'), seed: num('gen-seed'),
      }, 'generated');
      this.genOut.textContent = r.text;
    } catch (err) {
      this.genOut.textContent = (err as Error).message;
    }
  }

  private async download(): Promise<void> {
    try {
      const r = await this.client.request({ type: 'download' }, 'checkpoint');
      const url = URL.createObjectURL(new Blob([r.bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }));
      const a = Object.assign(document.createElement('a'), { href: url, download: 'model.safetensors' });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (err) {
      this.info.textContent = (err as Error).message;
    }
  }
}
