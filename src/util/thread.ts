/**
 * A worker thread that answers numbered requests (src/eval/embed-pool.ts,
 * src/pipeline/prep-thread.ts): call() posts a message with an id and resolves
 * with the reply carrying that id. If the thread dies, every waiting call gets
 * an `error` reply instead of hanging.
 */
import { Worker } from 'node:worker_threads';

const ENTRY = new URL('./thread-entry.mjs', import.meta.url);

/** A worker thread running the TypeScript module `module` (a file URL), through tsx. */
export function startThread(module: URL): Worker {
  return new Worker(ENTRY, { workerData: { module: module.href } });
}

/** Every reply has the request's id, and `error` when the request failed. */
export interface ThreadReply { id: number; error?: { name: string; message: string } }

export class Thread<R extends ThreadReply> {
  private next = 1;
  private readonly waiting = new Map<number, (r: R) => void>();
  readonly worker: Worker;

  /** `module`: the thread's TypeScript module (it calls serveRequests). */
  constructor(module: URL) {
    this.worker = startThread(module);
    this.worker.on('message', (r: R) => {
      const w = this.waiting.get(r.id);
      this.waiting.delete(r.id);
      w?.(r);
    });
    this.worker.on('error', (e) => this.failAll(e.message));
    this.worker.on('exit', (code) => this.failAll(`the thread exited (code ${code})`));
  }

  private failAll(message: string): void {
    for (const [id, w] of this.waiting) w({ id, error: { name: 'Error', message } } as R);
    this.waiting.clear();
  }

  /** Posts `msg` (with `transfer`red buffers) and waits for its reply. */
  call(msg: Record<string, unknown>, transfer: ArrayBuffer[] = []): Promise<R> {
    const id = this.next++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.worker.postMessage({ ...msg, id }, transfer);
    });
  }

  terminate(): Promise<number> {
    return this.worker.terminate();
  }
}

/**
 * The message loop of a thread (inside it): one request at a time, in order;
 * `handle` returns the reply (without id) and the buffers to transfer; a thrown
 * error becomes `{ error: { name, message } }`.
 */
export function serveRequests(port: { on(ev: 'message', f: (m: { id: number } & Record<string, unknown>) => void): void; postMessage(m: unknown, t?: ArrayBuffer[]): void },
  handle: (msg: Record<string, unknown>) => Promise<[Record<string, unknown>, ArrayBuffer[]?]>): void {
  let chain = Promise.resolve();
  port.on('message', (msg) => {
    chain = chain.then(async () => {
      try {
        const [reply, transfer] = await handle(msg);
        port.postMessage({ ...reply, id: msg.id }, transfer ?? []);
      } catch (e) {
        const err = e as Error;
        port.postMessage({ id: msg.id, error: { name: err.name ?? 'Error', message: err.message } });
      }
    });
  });
}
