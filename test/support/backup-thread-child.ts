// Child process for backup-thread.test.ts: saves one checkpoint, queues it on a threaded backup
// and returns from main without flush() or close(). The backup thread must keep the process
// alive until the upload is done, then let it exit. Args: <storeDir> <runDir>.
import { startBackup } from '../../src/backup/backup.js';
import { CheckpointManager } from '../../src/checkpoint/index.js';
import { LocalDirStore } from '../../src/storage/local-store.js';
import { saveStep } from './checkpoints.js';

async function main(): Promise<void> {
  const [storeDir, runDir] = process.argv.slice(2);
  const mgr = await CheckpointManager.open(runDir, {}, { warn: () => {} });
  const durable = await saveStep(mgr, 3, { backbone: 500_000, head: 1000 });
  await mgr.close();
  const backup = startBackup({ store: new LocalDirStore(storeDir), runDir, thread: true, catchUp: false, chunkBytes: 256 * 1024 });
  backup.onEvent((e) => { if (e.type === 'done' || e.type === 'error') console.log(JSON.stringify(e)); });
  backup.enqueue(durable);
  console.log('QUEUED');
}
main().catch((e) => { console.error(e); process.exit(1); });
