// RunPublisher when a blob upload fails: no upload starts after the failure, and publish()
// rejects only once the uploads already in flight have finished (nothing writes behind it).
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { RunPublisher } from '../src/backup/publish.js';
import { planFiles } from '../src/backup/segments.js';
import { LocalDirStore } from '../src/storage/local-store.js';
import type { StoreWriteResult, WriteData } from '../src/storage/store.js';

const work = await mkdtemp(path.join(tmpdir(), 'dt-publish-'));
afterAll(() => rm(work, { recursive: true, force: true }));

class FailingStore extends LocalDirStore {
  log: string[] = [];
  private n = 0;
  override async write(p: string, data: WriteData): Promise<StoreWriteResult> {
    const i = this.n++;
    this.log.push(`start ${i}`);
    await new Promise((r) => setTimeout(r, i === 0 ? 5 : 60));
    if (i === 0) { this.log.push(`fail ${i}`); throw new Error('blob upload failed'); }
    const r = await super.write(p, data);
    this.log.push(`end ${i}`);
    return r;
  }
}

it('stops uploading after a failed blob and settles after the uploads in flight', async () => {
  const src = path.join(work, 'src');
  const rels = ['a.bin', 'b.bin', 'c.bin', 'd.bin', 'e.bin', 'f.bin'];
  await mkdir(src, { recursive: true });
  for (const [i, r] of rels.entries()) await writeFile(path.join(src, r), Buffer.alloc(100, i + 1));
  const files = await planFiles(src, rels);
  const store = new FailingStore(path.join(work, 'store'));
  const pub = new RunPublisher(store, 'run', undefined, 3);
  await expect(pub.publish({ name: 'snap-1', type: 'folder', relDir: '', kind: 'last', epoch: 0, stepInEpoch: 0, globalStep: 1, metrics: {}, created: new Date().toISOString() }, files)).rejects.toThrow('blob upload failed');
  const settled = [...store.log];
  await new Promise((r) => setTimeout(r, 150));
  expect(store.log).toEqual(settled); // nothing ran on after publish() rejected
  expect(settled.filter((l) => l.startsWith('start'))).toEqual(['start 0', 'start 1', 'start 2']); // none started after the failure
  expect(settled.filter((l) => l.startsWith('end')).sort()).toEqual(['end 1', 'end 2']); // those in flight finished first
});
