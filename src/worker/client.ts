// The main-thread side of a request-serving thread (spawn.ts): request ids, replies matched to
// their promises, the thread kept alive (ref) only while a request is pending, notices handed
// to a listener, and a dead thread failing everything it was asked. The thread starts on the
// first request and again on the next one after it died. What to do instead when threads fail
// (work on the main thread, give up) is the caller's choice: ThreadLost tells it what happened.
import type { Worker } from 'node:worker_threads';
import { startThread, type SerializedError, type ThreadEntry } from './spawn.js';

/** The thread could not start or died; requests it had not answered fail with this. */
export class ThreadLost extends Error {
  constructor(message: string, readonly startFailed: boolean) {
    super(message);
    this.name = 'ThreadLost';
  }
}

export interface ThreadClientOptions<Notice> {
  entry: ThreadEntry;
  /** Names the thread in messages, e.g. 'checkpoint writer thread'. */
  name: string;
  workerData?: unknown;
  onNotice?(notice: Notice): void;
  /** Called once per lost thread (after its pending requests were failed). */
  onLost?(e: ThreadLost): void;
  /** Rebuilds a typed error from its serialized form; undefined: a plain Error with its fields. */
  decodeError?(s: SerializedError): Error | undefined;
}

type FromThread = { id: number; value?: unknown; error?: SerializedError } | { notice: unknown };

export class ThreadClient<Req, Res, Notice = never> {
  private current: Worker | null = null;
  private nextId = 1;
  private answeredOnce = false;
  private closed = false;
  private readonly pending = new Map<number, { resolve(v: Res): void; reject(e: unknown): void }>();

  constructor(private readonly o: ThreadClientOptions<Notice>) {}

  /** Whether any thread of this client ever answered a request. */
  get answered(): boolean {
    return this.answeredOnce;
  }

  /** The running thread, if any. */
  get worker(): Worker | null {
    return this.current;
  }

  request(body: Req, transfer: readonly ArrayBuffer[] = []): Promise<Res> {
    if (this.closed) return Promise.reject(new Error(`${this.o.name} is closed`));
    let w: Worker;
    try {
      w = this.start();
    } catch (e) {
      const lost = new ThreadLost(`${this.o.name} could not start: ${(e as Error).message}`, true);
      this.o.onLost?.(lost);
      return Promise.reject(lost);
    }
    const id = this.nextId++;
    const done = new Promise<Res>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    try {
      w.postMessage({ id, body }, transfer as ArrayBuffer[]);
    } catch (e) {
      this.pending.delete(id);
      return Promise.reject(e);
    }
    w.ref(); // work in flight keeps the process alive, as pending fs calls do
    return done;
  }

  /** Ends the thread; requests still pending fail. */
  async close(): Promise<void> {
    this.closed = true;
    const w = this.current;
    this.current = null;
    if (w) {
      w.ref(); // an unref'd thread would let the process exit before terminate() resolves
      await w.terminate();
    }
    this.failAll(new Error(`${this.o.name} closed`));
  }

  private start(): Worker {
    if (this.current) return this.current;
    const w = startThread(this.o.entry, this.o.workerData === undefined ? {} : { workerData: this.o.workerData });
    w.unref();
    w.on('message', (m: FromThread) => this.receive(w, m));
    w.on('error', (e) => this.lost(w, `failed: ${e.message}`));
    w.on('exit', (code) => this.lost(w, `exited (code ${code})`));
    this.current = w;
    return w;
  }

  private receive(w: Worker, m: FromThread): void {
    if ('notice' in m) {
      this.o.onNotice?.(m.notice as Notice);
      return;
    }
    const p = this.pending.get(m.id);
    if (!p) return;
    this.answeredOnce = true;
    this.pending.delete(m.id);
    if (!this.pending.size && this.current === w) w.unref();
    if (m.error) p.reject(this.decode(m.error));
    else p.resolve(m.value as Res);
  }

  private decode(s: SerializedError): Error {
    const typed = this.o.decodeError?.(s);
    if (typed) return typed;
    const { name: _name, message, stack, ...fields } = s;
    const e = Object.assign(new Error(message), fields);
    if (stack) e.stack = `${stack}\n    (in the ${this.o.name})`;
    return e;
  }

  private lost(w: Worker, why: string): void {
    if (this.current !== w) return; // closed, or an old thread
    this.current = null; // the next request starts a fresh thread
    const e = new ThreadLost(`${this.o.name} ${why}`, false);
    this.failAll(e);
    this.o.onLost?.(e);
  }

  private failAll(e: unknown): void {
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }
}
