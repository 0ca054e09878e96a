// Runs in the backup thread (started by threaded.ts): reopens the store from its spec, runs a
// BackupRunner on this thread's event loop, and reports events, status and idleness back.
import { parentPort, workerData } from 'node:worker_threads';
import { storeFromSpec } from '../storage/mount.js';
import { BackupRunner } from './backup.js';
import type { FromWorker, ToWorker, WorkerInit } from './threaded.js';

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('backup-worker.ts runs only as a worker thread (threaded.ts starts it)');
  const init = workerData as WorkerInit;
  const post = (m: FromWorker) => port.postMessage(m);
  const runner = new BackupRunner({ ...init.options, store: await storeFromSpec(init.spec) });
  let seen = 0;
  runner.onEvent((event) => post({ type: 'event', event, status: runner.status() }));
  const reportIdle = () => { if (runner.idle) post({ type: 'idle', seen, status: runner.status() }); };
  const settle = () => { void runner.flush().then(reportIdle); };
  // Messages sent before this listener exists wait in the port, in order.
  port.on('message', (m: ToWorker) => {
    seen++;
    if (m.type === 'enqueue') {
      runner.enqueue(m.info);
      settle();
    } else {
      void runner.flush().then((status) => { post({ type: 'flushed', id: m.id, status }); reportIdle(); });
    }
  });
  settle(); // start-up catch-up
}

void main(); // a failure here is an uncaught error of the thread: threaded.ts reports it and carries on
