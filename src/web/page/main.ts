// The page: settings (kept in the URL hash), the four views, and the training Worker that does
// all the work (src/web/worker/). Nothing numeric runs here: the main thread only draws what
// the Worker reports, at most once a frame, so the page stays responsive while a model trains.

import type { BpttMessage, CorpusInfo, FromWorker, ModelInfo, RunState, TextSource } from '../protocol.js';
import { FIELDS, VIEWS, applySetting, parseField, settingsFromHash, settingsToHash, type Settings, type View } from '../settings.js';
import { BpttView } from './bptt.js';
import { PerplexityChart } from './charts.js';
import { WorkerClient } from './client.js';
import { InsideView } from './inside.js';
import { describeModel, ModelsView } from './models.js';
import './style.css';

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T;

const { settings, ignored } = settingsFromHash(location.hash);
const form = $<HTMLFormElement>('settings');
/** Samples kept on the page. */
const SAMPLES_SHOWN = 6;

let runState: RunState = 'idle';
let model: ModelInfo | null = null;
let corpus: CorpusInfo | null = null;
let ready = false;
let userText: TextSource | null = null;
let firstStep = true;

// ---- the Worker ----------------------------------------------------------------------------

const workerUrl = new URL('./train-worker.js', location.href);
if (settings.threads > 0) workerUrl.searchParams.set('threads', String(settings.threads));
const client = new WorkerClient(workerUrl, onMessage);

const chart = new PerplexityChart($('ppl-chart'));
const bptt = new BpttView();
const inside = new InsideView(client, () => settings.view === 'inside');
const models = new ModelsView(client, (m) => {
  bptt.pinCurrent(); // the live curve was the previous model's
  setModel(m);
  notice(`Loaded ${m.origin}: Start trains it further on the corpus; Reset forgets it.`, 'info');
});

function onMessage(m: FromWorker): void {
  switch (m.type) {
    case 'ready': {
      ready = true;
      const threads = `${m.threads} thread${m.threads === 1 ? '' : 's'}`;
      $('backend').textContent = m.backend.startsWith('wasm') ? m.backend : `${m.backend} (${threads})`;
      $('backend').dataset.backend = m.backend;
      $('backend').dataset.threads = String(m.threads);
      $('backend').title = `${m.isolated ? 'cross-origin isolated' : 'not cross-origin isolated'}; loaded in ${m.startMs.toFixed(0)} ms`;
      for (const n of m.notices) notice(n, 'warn');
      setState(runState);
      if (settings.autostart === 1) start();
      break;
    }
    case 'state':
      setState(m.state, m.message);
      break;
    case 'model':
      setModel(m.model);
      if (m.corpus) newRun(m.corpus);
      break;
    case 'progress':
      onProgress(m);
      break;
    case 'valid':
      chart.addValid(m.step, m.perplexity);
      $('stat-valid').textContent = m.perplexity.toFixed(2);
      $('stat-valid').dataset.value = String(m.perplexity);
      $('stat-valid').dataset.step = String(m.step);
      break;
    case 'sample':
      addSample(m.step, m.text);
      break;
    case 'bptt':
      bptt.update(m as BpttMessage);
      break;
    case 'error':
      notice(m.message, 'error');
      break;
    default:
      break;
  }
}

function newRun(c: CorpusInfo): void {
  corpus = c;
  firstStep = true;
  bptt.pinCurrent();
  chart.reset(c.uniformPerplexity, c.floorPerplexity);
  $('samples').replaceChildren();
  $('stat-floor').textContent = c.floorPerplexity === null ? '–' : c.floorPerplexity.toFixed(2);
  $('stat-floor').title = c.floorPerplexity === null ? 'only for the built-in corpus at word level' : "the grammar's own perplexity on the validation text";
  for (const id of ['stat-step', 'stat-epoch', 'stat-speed', 'stat-eta', 'stat-valid']) $(id).textContent = '–';
}

function onProgress(m: Extract<FromWorker, { type: 'progress' }>): void {
  if (m.points.length > 0 && firstStep) {
    firstStep = false;
    document.body.dataset.firstStepMs = String(performance.now());
  }
  for (const p of m.points) chart.addStep(p.step, p.stepPerplexity);
  const last = m.points[m.points.length - 1];
  if (last) $('stat-step').textContent = String(last.step);
  if (corpus) $('stat-epoch').textContent = `${Math.min(m.epoch + 1, corpus.epochs)} / ${corpus.epochs}`;
  $('stat-speed').textContent = m.tokensPerSec > 0 ? Math.round(m.tokensPerSec).toLocaleString('en') : '–';
  $('stat-eta').textContent = runState === 'running' ? duration(m.etaSeconds) : '–';
  inside.tick();
}

function duration(s: number): string {
  if (!Number.isFinite(s)) return '–';
  const m = Math.floor(s / 60);
  const r = Math.round(s % 60);
  return m > 0 ? `${m} min ${String(r).padStart(2, '0')} s` : `${r} s`;
}

function addSample(step: number, text: string): void {
  const li = document.createElement('li');
  const meta = document.createElement('span');
  meta.className = 'meta';
  meta.textContent = `step ${step}`;
  const body = document.createElement('span');
  body.className = 'text';
  body.textContent = text.trim().replace(/\n/g, ' ⏎ ');
  li.append(meta, body);
  const list = $('samples');
  list.prepend(li);
  while (list.children.length > SAMPLES_SHOWN) list.lastElementChild!.remove();
}

function setModel(m: ModelInfo): void {
  model = m;
  $('model-line').textContent = `${m.origin === 'new' ? 'Model' : `Model from ${m.origin}`}: ${describeModel(m)}.`;
  models.showModel(m);
  setState(runState);
}

// ---- notices ---------------------------------------------------------------------------------

function notice(text: string, kind: 'info' | 'warn' | 'error'): void {
  const box = $('notices');
  if ([...box.children].some((c) => c.textContent?.startsWith(text))) return;
  const p = document.createElement('p');
  p.className = `notice ${kind}`;
  p.setAttribute('role', kind === 'error' ? 'alert' : 'status');
  const close = Object.assign(document.createElement('button'), { type: 'button', textContent: '×', title: 'Dismiss' });
  close.setAttribute('aria-label', 'Dismiss');
  close.addEventListener('click', () => p.remove());
  p.append(document.createTextNode(text), close);
  box.append(p);
}

// ---- run controls --------------------------------------------------------------------------

const startBtn = $<HTMLButtonElement>('start');
const resetBtn = $<HTMLButtonElement>('reset');

function setState(s: RunState, message?: string): void {
  runState = s;
  const out = $('run-state');
  out.dataset.state = s;
  out.textContent = { idle: model ? 'ready' : 'idle', preparing: 'preparing the corpus…', running: 'training', paused: 'paused', done: 'done', error: 'stopped' }[s];
  if (s === 'error' && message) notice(`Training stopped: ${message}`, 'error');
  const label = s === 'running' ? 'Pause' : s === 'paused' ? 'Resume' : model && model.origin !== 'new' && s === 'idle' ? 'Train this model' : 'Start';
  startBtn.textContent = label;
  startBtn.disabled = !ready || s === 'preparing' || !formValid();
  const busy = s === 'running' || s === 'paused' || s === 'preparing';
  // a loaded model keeps its own shape and vocabulary: the model settings do not apply to it
  const loaded = model !== null && model.origin !== 'new';
  ($('model-fields') as HTMLFieldSetElement).disabled = busy || loaded;
  ($('train-fields') as HTMLFieldSetElement).disabled = busy;
  for (const el of form.querySelectorAll<HTMLInputElement>('select[name=level]')) el.disabled = busy || loaded;
  for (const el of form.querySelectorAll<HTMLInputElement>('input[name=corpus]')) el.disabled = busy;
  if (s !== 'running') $('stat-eta').textContent = '–';
}

function start(): void {
  if (runState === 'running') {
    client.send({ type: 'pause' });
    return;
  }
  if (runState === 'paused') {
    client.send({ type: 'resume' });
    return;
  }
  if (settings.corpus === 'text' && (!userText || !('text' in userText) || userText.text.trim() === '')) {
    notice('Paste a text or drop a file first (or choose the built-in grammar).', 'error');
    return;
  }
  client.send({ type: 'start', settings: { ...settings }, text: settings.corpus === 'text' ? userText! : undefined });
}

startBtn.addEventListener('click', start);
resetBtn.addEventListener('click', () => {
  client.send({ type: 'reset' });
  model = null;
  $('model-line').textContent = '';
  models.showModel(null);
});

// ---- settings ↔ form ↔ hash ----------------------------------------------------------------

function fillForm(): void {
  for (const el of form.elements) {
    const input = el as HTMLInputElement;
    const key = input.name as keyof Settings;
    if (!key || !(key in FIELDS)) continue;
    if (input.type === 'radio') input.checked = input.value === String(settings[key]);
    else input.value = String(settings[key]);
  }
  $('temperature-out').textContent = String(settings.temperature);
  $('text-corpus').hidden = settings.corpus !== 'text';
  $('corpus-hint').hidden = settings.corpus !== 'builtin';
}

function formValid(): boolean {
  return form.querySelector('[aria-invalid="true"]') === null;
}

function writeHash(): void {
  const h = settingsToHash(settings);
  history.replaceState(null, '', h === '' ? location.pathname + location.search : h);
}

form.addEventListener('input', (e) => {
  const input = e.target as HTMLInputElement;
  const key = input.name as keyof Settings;
  if (!key || !(key in FIELDS)) return;
  const r = parseField(key, input.value);
  const err = $('settings-error');
  if ('error' in r) {
    input.setAttribute('aria-invalid', 'true');
    err.textContent = r.error;
    err.hidden = false;
  } else {
    input.removeAttribute('aria-invalid');
    if (formValid()) err.hidden = true;
    if (applySetting(settings, key, r.value)) {
      (form.elements.namedItem('lr') as HTMLInputElement).value = String(settings.lr);
    }
    if (key === 'corpus') fillForm();
    if (key === 'temperature' || key === 'topK') client.send({ type: 'sampling', temperature: settings.temperature, topK: settings.topK });
    if (key === 'temperature') $('temperature-out').textContent = String(settings.temperature);
    writeHash();
  }
  setState(runState);
});

const corpusText = $<HTMLTextAreaElement>('corpus-text');
corpusText.addEventListener('input', () => {
  userText = { text: corpusText.value, name: 'your text' };
});
$<HTMLInputElement>('corpus-file').addEventListener('change', (e) => {
  const f = (e.target as HTMLInputElement).files?.[0];
  if (f) void useTextFile(f);
});

async function useTextFile(f: File): Promise<void> {
  const text = await f.text();
  userText = { text, name: f.name };
  corpusText.value = text.length > 200_000 ? `${text.slice(0, 200_000)}\n… (${f.name}: ${text.length.toLocaleString('en')} characters in all; the whole file is used)` : text;
  settings.corpus = 'text';
  fillForm();
  writeHash();
  notice(`Corpus: ${f.name} (${text.length.toLocaleString('en')} characters).`, 'info');
}

// Drop anywhere: a checkpoint loads as the model, anything else becomes the corpus.
document.addEventListener('dragover', (e) => e.preventDefault());
document.addEventListener('drop', (e) => {
  e.preventDefault();
  const f = e.dataTransfer?.files?.[0];
  if (!f) return;
  if (f.name.endsWith('.safetensors')) {
    selectView('models');
    void models.load(f);
  } else if (runState === 'running' || runState === 'paused') {
    notice('Reset the run before changing the corpus.', 'error');
  } else {
    selectView('train');
    void useTextFile(f);
  }
});

// ---- views (tabs) --------------------------------------------------------------------------

const tabs = VIEWS.map((v) => $<HTMLButtonElement>(`tab-${v}`));

function selectView(v: View, focus = false): void {
  settings.view = v;
  VIEWS.forEach((w, i) => {
    const on = w === v;
    tabs[i].setAttribute('aria-selected', String(on));
    tabs[i].tabIndex = on ? 0 : -1;
    $(`view-${w}`).hidden = !on;
  });
  if (focus) tabs[VIEWS.indexOf(v)].focus();
  writeHash();
  if (v === 'inside' && model) void inside.read();
}

tabs.forEach((tab, i) => {
  tab.addEventListener('click', () => selectView(VIEWS[i]));
  tab.addEventListener('keydown', (e) => {
    const step = e.key === 'ArrowRight' ? 1 : e.key === 'ArrowLeft' ? -1 : 0;
    if (step !== 0) selectView(VIEWS[(i + step + VIEWS.length) % VIEWS.length], true);
    else if (e.key === 'Home') selectView(VIEWS[0], true);
    else if (e.key === 'End') selectView(VIEWS[VIEWS.length - 1], true);
    else return;
    e.preventDefault();
  });
});

$('bptt-compare').addEventListener('click', () => {
  const other = settings.cell === 'lstm' || settings.cell === 'gru' ? 'sigmoid' : 'lstm';
  settings.cell = other;
  fillForm();
  writeHash();
  client.send({ type: 'reset' });
  model = null;
  client.send({ type: 'start', settings: { ...settings }, text: settings.corpus === 'text' ? userText ?? undefined : undefined });
});
$('bptt-clear').addEventListener('click', () => bptt.clearPinned());

// ---- start -----------------------------------------------------------------------------------

fillForm();
selectView(settings.view);
if (ignored.length > 0) notice(`Ignored in the link: ${ignored.join(', ')} (unknown or out of range).`, 'warn');
setState('idle');
