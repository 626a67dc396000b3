// The page's side of the training Worker: start it, send it messages, and route what it sends
// back — answers to requests (by id) to their promises, everything else to one listener.

import type { FromWorker, ToWorker } from '../protocol.js';

type Answer = Extract<FromWorker, { id: number }>;
type Request = Extract<ToWorker, { id: number }>;
type Unsent<T> = T extends unknown ? Omit<T, 'id'> : never;

export class WorkerClient {
  readonly worker: Worker;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (m: Answer) => void; reject: (e: Error) => void }>();

  constructor(url: URL, onMessage: (m: FromWorker) => void) {
    this.worker = new Worker(url, { type: 'module', name: 'rnnlm training' });
    this.worker.onmessage = (e: MessageEvent) => {
      const m = e.data as FromWorker;
      const id = 'id' in m ? m.id : undefined;
      const w = id === undefined ? undefined : this.waiting.get(id);
      if (w) {
        this.waiting.delete(id!);
        if (m.type === 'error') w.reject(new Error(m.message));
        else w.resolve(m as Answer);
        return;
      }
      onMessage(m);
    };
    this.worker.onerror = (e) => onMessage({ type: 'error', message: `the training worker failed: ${e.message || 'script error'}` });
  }

  send(m: Exclude<ToWorker, Request>, transfer: Transferable[] = []): void {
    this.worker.postMessage(m, transfer);
  }

  /** Send a request and wait for its answer (rejects with the worker's error message). */
  request<T extends Answer['type']>(m: Unsent<Request>, _expect: T, transfer: Transferable[] = []): Promise<Extract<Answer, { type: T }>> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (m: Answer) => void, reject });
      this.worker.postMessage({ ...m, id }, transfer);
    });
  }
}
