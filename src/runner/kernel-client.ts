// Talks to a running Jupyter server with @jupyterlab/services: starts a session whose kernel
// works in the notebook's folder, executes code, and collects the output messages.
import { KernelManager, ServerConnection, SessionManager, type Kernel, type KernelMessage, type Session } from '@jupyterlab/services';
import WebSocket from 'ws';
import type { OutputCollector } from './notebook-file.js';

export interface OutputSink {
  stream(name: string, text: string): void;
  /** `displayId`: set for displays that may be updated in place (update_display_data). */
  display(data: Record<string, unknown>, update: boolean, displayId?: string): void;
}

export interface ExecuteResult {
  status: 'ok' | 'error' | 'aborted';
  executionCount: number | null;
  /** stderr text of the cell followed by its error's traceback (what a terminal shows). */
  stderr: string;
  /** The traceback text of the kernel's `error` message, if it sent one. */
  errorText: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class KernelClient {
  private constructor(
    private readonly sessions: SessionManager,
    private readonly kernels: KernelManager,
    readonly session: Session.ISessionConnection,
    readonly kernel: Kernel.IKernelConnection,
  ) {}

  /** `notebookPath` is relative to the server's root dir; the kernel's cwd is its folder. */
  static async start(opts: { baseUrl: string; wsUrl: string; token: string; notebookPath: string; kernelName: string }): Promise<KernelClient> {
    const serverSettings = ServerConnection.makeSettings({
      baseUrl: opts.baseUrl,
      wsUrl: opts.wsUrl,
      token: opts.token,
      appendToken: true,
      WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
    });
    const kernels = new KernelManager({ serverSettings });
    const sessions = new SessionManager({ serverSettings, kernelManager: kernels });
    await sessions.ready;
    const session = await sessions.startNew({ path: opts.notebookPath, type: 'notebook', name: opts.notebookPath, kernel: { name: opts.kernelName } });
    const kernel = session.kernel;
    if (!kernel) throw new Error(`the server started no kernel "${opts.kernelName}"`);
    await kernel.info;
    // tslab dies on SIGINT until its handler is installed, shortly after kernel_info.
    await sleep(1000);
    return new KernelClient(sessions, kernels, session, kernel);
  }

  async execute(code: string, collector: OutputCollector, sink: OutputSink): Promise<ExecuteResult> {
    let stderr = '';
    let errorText = '';
    const future = this.kernel.requestExecute({ code, stop_on_error: true, allow_stdin: false, store_history: true });
    future.onIOPub = (msg: KernelMessage.IIOPubMessage) => {
      const t = msg.header.msg_type;
      const c = msg.content as Record<string, any>;
      if (t === 'stream') {
        collector.stream(c.name, c.text);
        if (c.name === 'stderr') stderr += c.text;
        sink.stream(c.name, c.text);
      } else if (t === 'display_data') {
        collector.display(c.data, c.metadata, c.transient?.display_id);
        sink.display(c.data, false, c.transient?.display_id);
      } else if (t === 'update_display_data') {
        collector.update(c.data, c.metadata, c.transient?.display_id);
        sink.display(c.data, true, c.transient?.display_id);
      } else if (t === 'execute_result') {
        collector.other({ output_type: 'execute_result', data: c.data, metadata: c.metadata ?? {}, execution_count: c.execution_count });
        sink.display(c.data, false);
      } else if (t === 'error') {
        collector.other({ output_type: 'error', ename: c.ename, evalue: c.evalue, traceback: c.traceback });
        // The traceback starts with "ename: evalue" (drivetrain kernel, ipykernel); colours dropped.
        const tb = ((c.traceback ?? []) as string[]).join('\n').replace(/\x1b\[[0-9;]*m/g, '');
        const text = tb.includes(String(c.evalue)) ? tb : `${c.ename}: ${c.evalue}${tb ? `\n${tb}` : ''}`;
        errorText += `${text}\n`;
        stderr += `${text}\n`;
        sink.stream('stderr', `${text}\n`);
      }
    };
    const reply = (await future.done) as KernelMessage.IExecuteReplyMsg;
    const content = reply.content as { status: ExecuteResult['status']; execution_count?: number; ename?: string; evalue?: string };
    // A cell that stopped cleanly at an Interrupt has no error output, only the reply's KeyboardInterrupt.
    if (content.status === 'error' && !errorText && content.ename) errorText = `${content.ename}: ${content.evalue ?? ''}\n`;
    return { status: content.status, executionCount: content.execution_count ?? null, stderr, errorText };
  }

  /** Interrupts the running cell (SIGINT to the kernel through the server). Never throws. */
  async interrupt(): Promise<void> {
    try {
      await this.kernel.interrupt();
    } catch {
      /* a dead kernel needs no interrupt */
    }
  }

  /** Shuts down the kernel via the session API and closes all connections. Never throws. */
  async shutdown(): Promise<void> {
    try {
      await Promise.race([this.session.shutdown(), sleep(5000)]);
    } catch {
      /* the server-side stop kills what is left */
    }
    this.session.dispose();
    this.sessions.dispose();
    this.kernels.dispose();
  }
}
