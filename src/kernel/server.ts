// tslab's ZeroMQ server with the Jupyter behaviour clients rely on (as ipykernel does it):
// - shell requests are handled one at a time, each bracketed by busy … idle, so "busy" lasts
//   from a cell's start to the end of its async work (tslab answered requests concurrently: with
//   Run All every cell went busy at once and the first one's idle showed while the next ran);
// - control requests (shutdown, the server's kernel_info nudges) are answered at once, without a
//   status change while a shell request runs;
// - execute_input with the execution count, execute_result for a last expression's value,
//   `error` outputs with ename/evalue/traceback, and replies that carry them;
// - after a failed cell (stop_on_error), execute requests queued behind it are aborted.
import { inspect } from 'node:util';
import type { CellRunner } from './cell-runner.js';
import type { Tslab, ZmqMessage, ZmqServerBase } from './tslab.js';

export interface KernelServerOptions {
  runner: CellRunner;
  tslab: Tslab;
  /** Written to the first cell's stderr (e.g. "src/ has TypeScript errors; dist/ …"). */
  notice?: string;
}

type Write = (chunk: unknown, encoding?: unknown, cb?: unknown) => boolean;

function kernelServerClass(tslab: Tslab) {
  return class KernelServer extends tslab.ZmqServer {
    opts!: KernelServerOptions;
    private queue: Promise<void> = Promise.resolve();
    private received = 0;
    private current = 0;
    private abortThrough = 0;
    private shellBusy = false;
    private quiet = false;
    private count = 0;

    override handleShellMessage(sock: unknown, ...frames: Buffer[]): Promise<void> {
      if (sock === this.control) {
        // tslab handles every control request it knows synchronously (busy, reply, idle before
        // its first await), so the flag covers exactly this request's status messages.
        this.quiet = this.shellBusy;
        try {
          return super.handleShellMessage(sock, ...frames);
        } finally {
          this.quiet = false;
        }
      }
      const seq = ++this.received;
      this.queue = this.queue.then(async () => {
        this.current = seq;
        this.shellBusy = true;
        try {
          await super.handleShellMessage(sock, ...frames);
        } catch (e) {
          process.stderr.write(`drivetrain kernel: failed to handle a shell message: ${(e as Error).stack ?? String(e)}\n`);
        } finally {
          this.shellBusy = false;
        }
      });
      return this.queue;
    }

    override publishStatus(status: 'busy' | 'idle', parent: ZmqMessage): void {
      if (!this.quiet) super.publishStatus(status, parent);
    }

    override async handleExecute(sock: unknown, msg: ZmqMessage): Promise<void> {
      const req = msg.content as { code?: string; silent?: boolean; store_history?: boolean; stop_on_error?: boolean };
      const code = String(req.code ?? '');
      const silent = req.silent === true;
      const send = (type: string, content: Record<string, unknown>, to: unknown = this.iopub) => {
        const m = msg.createReply();
        m.header.msg_type = type;
        m.content = content;
        m.signAndSend(this.connInfo.key, to);
      };
      const reply = (content: Record<string, unknown>) => send('execute_reply', content, sock);
      if (this.current <= this.abortThrough) return reply({ status: 'aborted' });
      if (!silent && req.store_history !== false) this.count++;
      const count = this.count;
      if (!silent) send('execute_input', { code, execution_count: count });
      this.routeOutput(send);
      if (this.opts.notice) {
        process.stderr.write(`${this.opts.notice}\n`);
        this.opts.notice = undefined;
      }
      const r = await this.opts.runner.run(code);
      if (r.stderr) process.stderr.write(r.stderr);
      if (r.kind === 'ok') {
        if (r.hasValue && !silent) send('execute_result', { execution_count: count, data: { 'text/plain': inspect(r.value) }, metadata: {} });
        return reply({ status: 'ok', execution_count: count, payload: [], user_expressions: {} });
      }
      if (r.show && !silent) send('error', { ...r.error });
      reply({ status: 'error', execution_count: count, ...r.error });
      if (!silent && req.stop_on_error !== false) this.abortQueued();
    }

    /**
     * After a failed cell's reply, abort the execute requests already sent behind it (Run All
     * stops there), as ipykernel does. Some may still sit unread in the socket while the cell kept
     * the event loop busy, so what arrives until the next I/O poll has run counts as queued (no
     * client can answer the reply that fast; tslab aborted everything for 200 ms instead).
     */
    private abortQueued(): void {
      this.abortThrough = Number.MAX_SAFE_INTEGER;
      setImmediate(() => setImmediate(() => (this.abortThrough = this.received)));
    }

    /**
     * stdout, stderr and displays go to the cell that runs now, and after it ends to the last
     * cell that ran (as tslab and ipykernel do for background output).
     */
    private routeOutput(send: (type: string, content: Record<string, unknown>) => void): void {
      const stream = (name: 'stdout' | 'stderr'): Write => (chunk, encoding, cb) => {
        const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
        send('stream', { name, text });
        const done = typeof encoding === 'function' ? encoding : cb;
        if (typeof done === 'function') process.nextTick(done as () => void);
        return true;
      };
      process.stdout.write = stream('stdout') as typeof process.stdout.write;
      process.stderr.write = stream('stderr') as typeof process.stderr.write;
      this.opts.tslab.jupyter.lastWriteDisplayData = (data, update) => send(update ? 'update_display_data' : 'display_data', data as Record<string, unknown>);
    }
  };
}

export function createKernelServer(configPath: string, handler: ConstructorParameters<Tslab['ZmqServer']>[0], opts: KernelServerOptions): ZmqServerBase {
  const Server = kernelServerClass(opts.tslab);
  const server = new Server(handler, configPath);
  server.opts = opts;
  return server;
}
