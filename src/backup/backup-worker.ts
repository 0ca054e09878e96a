// Runs in the backup thread (started by threaded.ts through src/worker): reopens the store from
// its spec, runs a BackupRunner on this thread's event loop, reports its events, and answers each
// request with the status once the runner has nothing left to do.
import { storeFromSpec } from '../storage/mount.js';
import type { ThreadContext, ThreadHandler } from '../worker/spawn.js';
import { BackupRunner } from './backup.js';
import type { BackupStatus } from './events.js';
import type { FromWorker, ToWorker, WorkerInit } from './threaded.js';

export async function start(ctx: ThreadContext<FromWorker>): Promise<ThreadHandler<ToWorker, BackupStatus>> {
  const init = ctx.workerData as WorkerInit;
  const runner = new BackupRunner({ ...init.options, store: await storeFromSpec(init.spec) });
  runner.onEvent((event) => ctx.notify({ type: 'event', event, status: runner.status() }));
  return (m) => {
    if (m.type === 'enqueue') runner.enqueue(m.info);
    return runner.flush(); // 'start': the start-up catch-up; 'enqueue': until it is backed up; 'flush'
  };
}
