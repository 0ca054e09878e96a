// The drivetrain kernel speaks Jupyter the way clients expect (ipykernel's behaviour), checked
// on the wire through a real Jupyter server: busy/idle brackets each cell including its async
// work, execute_input/execute_result/error messages with counts, queued cells aborted after an
// error, and Interrupt that lets a cell which handles it finish (and never kills the kernel).
import path from 'node:path';
import type { KernelMessage } from '@jupyterlab/services';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { findJupyterServer, KernelClient, startJupyterServer, type ServerHandle } from '../src/runner/index.js';

const root = path.resolve(import.meta.dirname, '..');
const hasJupyter = findJupyterServer() !== null;
if (!hasJupyter) console.warn('SKIP kernel protocol tests: no Jupyter server installed (run `make setup`)');

type Msg = KernelMessage.IIOPubMessage;
interface Run {
  id: string;
  reply: Promise<KernelMessage.IExecuteReplyMsg['content'] & Record<string, unknown>>;
  /** iopub messages of this request (in arrival order). */
  msgs: Msg[];
}

let server: ServerHandle;
let client: KernelClient;
/** Every iopub message of the session, with arrival time. */
const all: { at: number; msg: Msg }[] = [];

function exec(code: string): Run {
  const future = client.kernel.requestExecute({ code, stop_on_error: true, store_history: true });
  const run: Run = { id: future.msg.header.msg_id, msgs: [], reply: future.done.then((r) => r.content as never) };
  future.onIOPub = (m) => void run.msgs.push(m);
  return run;
}
const ofType = (r: Run, t: string) => r.msgs.filter((m) => m.header.msg_type === t).map((m) => m.content as Record<string, any>);
const statuses = () => all.filter((e) => e.msg.header.msg_type === 'status').map((e) => [(e.msg.content as { execution_state: string }).execution_state, (e.msg.parent_header as { msg_id?: string }).msg_id]);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const waitForText = async (r: Run, text: string, ms = 60_000) => {
  for (let t = 0; !JSON.stringify(ofType(r, 'stream')).includes(text); t += 50) {
    if (t >= ms) throw new Error(`the cell did not print "${text}" within ${ms / 1000} s (an Interrupt sent now would find no cell running)`);
    await sleep(50);
  }
};

describe.skipIf(!hasJupyter)('drivetrain kernel on the wire', () => {
  beforeAll(async () => {
    vi.spyOn(console, 'debug').mockImplementation(() => {}); // @jupyterlab/services logs each WebSocket connect
    server = await startJupyterServer({ rootDir: path.join(root, 'notebooks'), log: () => {} });
    client = await KernelClient.start({ ...server, notebookPath: 'protocol-test.ipynb', kernelName: 'drivetrain' });
    client.kernel.iopubMessage.connect((_, msg) => void all.push({ at: Date.now(), msg }));
  });
  afterAll(async () => {
    await client?.shutdown();
    await server?.stop();
  });

  it('Run All: each cell is busy from its start to the end of its async work, with counts and values', async () => {
    const runs = [exec('40 + 2'), exec("await new Promise((r) => setTimeout(r, 800));\nconsole.log('slow done')"), exec("console.log('third')")];
    const replies = await Promise.all(runs.map((r) => r.reply));
    expect(replies.map((r) => r.status)).toEqual(['ok', 'ok', 'ok']);
    const counts = replies.map((r) => r.execution_count);
    expect(counts[1]).toBe(counts[0]! + 1);
    expect(counts[2]).toBe(counts[0]! + 2);
    expect(runs.map((r) => ofType(r, 'execute_input')[0]?.execution_count)).toEqual(counts);
    expect(ofType(runs[0]!, 'execute_result')).toEqual([{ execution_count: counts[0], data: { 'text/plain': '42' }, metadata: {} }]);
    // One busy … idle per cell, in order: the next goes busy only after the previous went idle.
    const own = statuses().filter(([, id]) => runs.some((r) => r.id === id));
    expect(own).toEqual(runs.flatMap((r) => [['busy', r.id], ['idle', r.id]]));
    // While the second cell awaited, nothing said idle.
    const slow = all.find((e) => JSON.stringify(e.msg.content).includes('slow done'))!;
    const before = all.filter((e) => e.at <= slow.at && e.msg.header.msg_type === 'status').pop()!;
    expect([(before.msg.content as { execution_state: string }).execution_state, (before.msg.parent_header as { msg_id: string }).msg_id]).toEqual(['busy', runs[1]!.id]);
  });

  it('a thrown error is an `error` output with ename/evalue/traceback; cells queued behind it are aborted, later ones run', async () => {
    const failing = exec("class DrivetrainError extends Error { name = 'DrivetrainError' }\nthrow new DrivetrainError('run the mount cell first');");
    const queued = exec("console.log('must not run')");
    const [r, q] = await Promise.all([failing.reply, queued.reply]);
    expect(r).toMatchObject({ status: 'error', ename: 'DrivetrainError', evalue: 'run the mount cell first' });
    expect(typeof r.execution_count).toBe('number');
    const [err] = ofType(failing, 'error');
    expect(err).toMatchObject({ ename: 'DrivetrainError', evalue: 'run the mount cell first' });
    expect(err!.traceback[0]).toContain('DrivetrainError');
    expect(err!.traceback.join('\n')).not.toMatch(/node_modules[\\/]tslab|node:vm/);
    expect(ofType(failing, 'stream')).toEqual([]); // not stderr text any more
    expect(q.status).toBe('aborted');
    expect(ofType(queued, 'execute_input')).toEqual([]);
    // No abort window after the error (tslab aborted requests arriving within 200 ms).
    expect((await exec("console.log('runs again')").reply).status).toBe('ok');
  });

  it('TypeScript errors are TSError outputs listing line:col - message', async () => {
    const run = exec("const n: number = 'text';");
    expect((await run.reply).status).toBe('error');
    const [err] = ofType(run, 'error');
    expect(err).toMatchObject({ ename: 'TSError', evalue: "1:7 - Type 'string' is not assignable to type 'number'." });
    expect(err!.traceback.slice(1)).toEqual(["1:7 - Type 'string' is not assignable to type 'number'."]);
  });

  it('Interrupt: a cell that handles SIGINT finishes its save while busy (and may end with its marked error); one that does not is ended; the kernel lives on', async () => {
    // The listener is added in the cell's synchronous part: tslab's vm watchdog used to turn the
    // next SIGINT into Node's default action there (the kernel died).
    const saving = exec(
      "let stop = false;\nprocess.once('SIGINT', () => { stop = true; console.log('stopping'); });\nconsole.log('training');\n" +
        "while (!stop) await new Promise((r) => setTimeout(r, 50));\nawait new Promise((r) => setTimeout(r, 700));\nconsole.log('saved');",
    );
    await waitForText(saving, 'training');
    await client.interrupt();
    const r = await saving.reply;
    expect(JSON.stringify(ofType(saving, 'stream'))).toMatch(/stopping[\s\S]*saved/);
    expect(r).toMatchObject({ status: 'error', ename: 'KeyboardInterrupt' }); // Run All stops here
    expect(ofType(saving, 'error')).toEqual([]); // no red box: the cell printed what happened
    // Busy until the save printed: idle comes after it.
    const kinds = saving.msgs.map((m) => (m.header.msg_type === 'status' ? (m.content as { execution_state: string }).execution_state : JSON.stringify(m.content)));
    expect(kinds.findIndex((k) => k === 'idle')).toBeGreaterThan(kinds.findIndex((k) => k.includes('saved')));

    // A cell that handled the Interrupt and then throws its marked error to end the cell (the
    // training cells do, so that the next stage in the cell does not start): no error output.
    const ended = exec(
      "let stopped2 = false;\nprocess.once('SIGINT', () => { stopped2 = true; });\nconsole.log('training 2');\n" +
        "while (!stopped2) await new Promise((r) => setTimeout(r, 50));\nconsole.log('saved 2');\n" +
        "throw Object.assign(new Error('stopped at the interrupt'), { interruptHandled: true });\nconsole.log('next stage');",
    );
    await waitForText(ended, 'training 2');
    await client.interrupt();
    expect(await ended.reply).toMatchObject({ status: 'error', ename: 'KeyboardInterrupt' });
    expect(ofType(ended, 'error')).toEqual([]);
    expect(JSON.stringify(ofType(ended, 'stream'))).toContain('saved 2');
    expect(JSON.stringify(ofType(ended, 'stream'))).not.toContain('next stage');

    const sleeping = exec("console.log('sleeping');\nawait new Promise((r) => setTimeout(r, 60_000));");
    await waitForText(sleeping, 'sleeping');
    await client.interrupt();
    expect(await sleeping.reply).toMatchObject({ status: 'error', ename: 'KeyboardInterrupt' });
    expect(ofType(sleeping, 'error')[0]).toMatchObject({ ename: 'KeyboardInterrupt', evalue: 'the cell was interrupted' });

    expect((await exec("console.log('alive')").reply).status).toBe('ok');
  });
});
