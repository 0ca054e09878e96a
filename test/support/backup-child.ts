// Child process for the kill -9 test: back up a run to the fake Drive (catch-up of the newest
// local checkpoint) on the backup thread, then print DONE. Args: <fake url> <token> <runDir>.
import { startBackup } from '../../src/backup/backup.js';
import { createDriveAuth } from '../../src/storage/drive-auth.js';
import { GoogleDriveStore } from '../../src/storage/drive-store.js';

async function main(): Promise<void> {
  const [url, token, runDir] = process.argv.slice(2);
  const store = new GoogleDriveStore({
    auth: await createDriveAuth({ accessToken: token }), rootUrl: url, basePath: 'kill', chunkSize: 256 * 1024, timeoutMs: 2000, baseDelayMs: 5, maxDelayMs: 50,
  });
  const backup = startBackup({ store, runDir, retryDelayMs: 20, thread: true });
  backup.onEvent((e) => console.log(JSON.stringify(e)));
  const st = await backup.flush();
  console.log(st.lastError ? `FAILED ${st.lastError}` : 'DONE');
}
main().catch((e) => { console.error(e); process.exit(1); });
