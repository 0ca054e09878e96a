// Notebook parameters for the disk cap and permanent keeps reach the stage's checkpoints, and
// mount() checks the store's free space against what the runs will back up.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it, vi } from 'vitest';
import { mount, runStage } from '../src/notebook/cells.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dt-nbparams-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const book = JSON.parse(fs.readFileSync('runbooks/glyphs.json', 'utf8'));
book.out = path.join(tmp, 'runs', 'glyphs');
book.defaults.model = 'glyph-tiny';
const runbook = path.join(tmp, 'book.json');
fs.writeFileSync(runbook, JSON.stringify(book));
const quiet = { train: { onEvent: () => {} } };

it('stage notebooks declare DISK_CAP and PERMANENT_EVERY and pass them to runStage', () => {
  for (const f of ['01-stage1', '02-stage2', '03-stage3']) {
    const nb = JSON.parse(fs.readFileSync(`notebooks/${f}.ipynb`, 'utf8')) as { cells: { cell_type: string; source: string[] }[] };
    const code = nb.cells.filter((c) => c.cell_type === 'code').map((c) => c.source.join(''));
    expect(code[0], f).toMatch(/^let DISK_CAP = 0;$/m);
    expect(code[0], f).toMatch(/^let PERMANENT_EVERY = 0;$/m);
    expect(code.join('\n'), f).toContain('diskCapBytes: DISK_CAP, permanentEvery: PERMANENT_EVERY');
  }
});

it('permanentEvery and diskCapBytes from the notebook reach the checkpoints', async () => {
  const s = await runStage('stage0-pretrain', { runbook, epochs: 2, dataN: 128, device: 'cpu', permanentEvery: 1, ...quiet });
  expect(s.reason).toBe('completed');
  expect(fs.readdirSync(path.join(s.out, 'checkpoints')).filter((n) => n.startsWith('epoch-')).sort()).toEqual(['epoch-001', 'epoch-002']);
  await expect(runStage('stage0-pretrain', { runbook, run: 'capped', epochs: 1, dataN: 128, device: 'cpu', diskCapBytes: 1000, ...quiet }))
    .rejects.toThrow(/disk cap \(diskCapBytes 1000 bytes\) is below the size of one checkpoint/);
}, 120_000);

it('mount(folder, { expectBytes }) warns when the store has less free space than the runs need', async () => {
  const out: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((m: string | Uint8Array) => { out.push(String(m)); return true; });
  try {
    await mount(path.join(tmp, 'drive'), { expectBytes: 1e18 });
    await mount(path.join(tmp, 'drive'), { expectBytes: 1000 });
  } finally {
    spy.mockRestore();
  }
  expect(out[0]).toMatch(/drivetrain: warning: only .* free at .*drive but the run needs about 1000000 TB; backups will fail when it fills up/);
  expect(out[1]).toMatch(/drivetrain: .* free at .*drive, run needs about 1\.0 kB/);
});
