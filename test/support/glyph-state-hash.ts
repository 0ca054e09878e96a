// sha256 of the glyph CNN's whole state (params, AdamW slots, step) after a few CPU steps at batch
// 16, 2 threads. Run as a script it prints the hash, so a test can compare processes.
import { createHash } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { glyphDataset } from '../../src/data/index.js';
import { Engine } from '../../src/engine/index.js';
import { AdamW } from '../../src/optim/index.js';
import { glyphModel } from '../../src/train/models.js';

export async function glyphStateHash(steps = 3): Promise<string> {
  const spec = glyphModel({ size: 32, classes: 12 });
  const ds = glyphDataset({ n: 32, seed: 3 });
  const e = await Engine.create({
    model: spec.model, loss: spec.loss, optimizer: new AdamW({ lr: 3e-3 }), batchSize: 16, threads: 2, seed: 1,
    inputs: { image: { shape: [1, 32, 32] }, label: { shape: [], dtype: 'int64' }, box: { shape: [4] } },
  });
  for (let s = 0; s < steps; s++) {
    const b = await ds.getBatch(Array.from({ length: 16 }, (_, i) => (s * 16 + i) % 32));
    await e.step({ image: b.image, label: b.label, box: b.box });
  }
  const h = createHash('sha256');
  for (const [k, t] of [...(await e.getState())].sort(([a], [b]) => a.localeCompare(b))) h.update(k).update(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  await e.release();
  return h.digest('hex');
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) console.log(await glyphStateHash(Number(process.argv[2] ?? 3)));
