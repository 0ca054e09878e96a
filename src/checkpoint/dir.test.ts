import { mkdtemp, open, readFile, rm, truncate, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { tensor } from '../tensor.js';
import { loadCheckpoint, loadCheckpointState, verifyCheckpoint } from './dir.js';
import { CheckpointManager } from './manager.js';
import { selectResume, resolveResume } from './resume.js';

const root = await mkdtemp(path.join(tmpdir(), 'ckpt-dir-'));
afterAll(() => rm(root, { recursive: true, force: true }));
let runDir: string;
let n = 0;

/** A run with checkpoints at steps 1, 2, 3 (tensor value = step). */
async function makeRun(): Promise<string[]> {
  runDir = path.join(root, `run_${++n}`);
  const m = await CheckpointManager.open(runDir, { keep: { lastN: 10 } }, { warn: () => undefined });
  const dirs: string[] = [];
  m.onDurable((e) => dirs.push(e.dir));
  for (let s = 1; s <= 3; s++) {
    m.save('last', [tensor('w', 'float32', [1000], new Float32Array(1000).fill(s)), tensor('i', 'int64', [2], BigInt64Array.from([BigInt(s), 0n]))], { epoch: s, stepInEpoch: 0, globalStep: s });
    await m.flush();
  }
  await m.close();
  return dirs;
}

async function expectResumeAt(step: number, corrupt: string) {
  const warnings: string[] = [];
  const c = await selectResume(runDir, { warn: (w) => warnings.push(w) });
  expect(c?.manifest.globalStep).toBe(step);
  expect(warnings.length).toBe(1);
  expect(warnings[0]).toContain(corrupt);
  const l = await loadCheckpoint(c!.dir);
  expect(l.tensors.get('w')!.data[999]).toBe(step);
}

describe('checkpoint corruption is detected and the previous valid one is chosen', () => {
  let dirs: string[];
  beforeEach(async () => {
    dirs = await makeRun();
  });

  it('loads and verifies an intact checkpoint', async () => {
    const l = await loadCheckpoint(dirs[2]);
    expect(l.state.globalStep).toBe(3);
    expect(l.tensors.get('i')!.data[0]).toBe(3n);
    expect(l.manifest.tensors.w.range[1] - l.manifest.tensors.w.range[0]).toBe(4000);
    await expect(verifyCheckpoint(dirs[2])).resolves.toMatchObject({ globalStep: 3, kind: 'last' });
  });

  it('truncated tensor file', async () => {
    const f = path.join(dirs[2], 'tensors.safetensors');
    await truncate(f, 1000);
    await expect(verifyCheckpoint(dirs[2])).rejects.toMatchObject({ code: 'SIZE_MISMATCH', file: f });
    await expect(loadCheckpoint(dirs[2])).rejects.toMatchObject({ code: 'SIZE_MISMATCH' });
    await expectResumeAt(2, dirs[2]);
  });

  it('flipped byte inside a tensor', async () => {
    const f = path.join(dirs[2], 'tensors.safetensors');
    const h = await open(f, 'r+');
    const b = Buffer.alloc(1);
    await h.read(b, 0, 1, 2000);
    b[0] ^= 0x10;
    await h.write(b, 0, 1, 2000);
    await h.close();
    await expect(verifyCheckpoint(dirs[2])).rejects.toMatchObject({ code: 'HASH_MISMATCH', file: f });
    await expect(verifyCheckpoint(dirs[2])).rejects.toThrow(/tensor w/);
    await expect(loadCheckpoint(dirs[2])).rejects.toMatchObject({ code: 'HASH_MISMATCH' });
    await expectResumeAt(2, dirs[2]);
  });

  it('flipped byte in state.json', async () => {
    const f = path.join(dirs[2], 'state.json');
    const b = await readFile(f);
    b[5] ^= 0x01;
    await writeFile(f, b);
    await expect(verifyCheckpoint(dirs[2])).rejects.toMatchObject({ code: 'HASH_MISMATCH', file: f });
    await expectResumeAt(2, dirs[2]);
  });

  it('deleted manifest', async () => {
    await unlink(path.join(dirs[2], 'manifest.json'));
    await expect(verifyCheckpoint(dirs[2])).rejects.toMatchObject({ code: 'MISSING_FILE' });
    await expectResumeAt(2, dirs[2]);
  });

  it('deleted tensor file', async () => {
    const f = path.join(dirs[2], 'tensors.safetensors');
    await unlink(f);
    await expect(verifyCheckpoint(dirs[2])).rejects.toMatchObject({ code: 'MISSING_FILE', file: f });
    await expectResumeAt(2, dirs[2]);
  });

  it('manifest with a bad schema', async () => {
    const f = path.join(dirs[2], 'manifest.json');
    const m = JSON.parse(await readFile(f, 'utf8'));
    delete m.globalStep;
    await writeFile(f, JSON.stringify(m));
    await expect(verifyCheckpoint(dirs[2])).rejects.toMatchObject({ code: 'BAD_SCHEMA', file: f });
    await expect(verifyCheckpoint(dirs[2])).rejects.toThrow(/globalStep/);
    await expectResumeAt(2, dirs[2]);
  });

  it('two corrupt checkpoints: falls back two steps; all corrupt: null', async () => {
    await unlink(path.join(dirs[2], 'manifest.json'));
    await truncate(path.join(dirs[1], 'state.json'), 3);
    const warnings: string[] = [];
    expect((await selectResume(runDir, { warn: (w) => warnings.push(w) }))?.manifest.globalStep).toBe(1);
    expect(warnings.join('\n')).toContain(dirs[1]);
    await unlink(path.join(dirs[0], 'tensors.safetensors'));
    expect(await selectResume(runDir, { warn: () => undefined })).toBeNull();
  });

  it('resolveResume: none, auto, explicit path, and a helpful error for a missing path', async () => {
    expect(await resolveResume(runDir, 'none')).toBeNull();
    expect((await resolveResume(runDir, 'auto'))?.manifest.globalStep).toBe(3);
    expect((await resolveResume(runDir, dirs[0]))?.manifest.globalStep).toBe(1);
    expect((await resolveResume(runDir, runDir))?.manifest.globalStep).toBe(3);
    const missing = path.join(runDir, 'checkpoints', 'last-000000099');
    await expect(resolveResume(runDir, missing)).rejects.toThrow(/last-000000001, last-000000002, last-000000003/);
    await unlink(path.join(dirs[0], 'tensors.safetensors'));
    await expect(resolveResume(runDir, dirs[0])).rejects.toMatchObject({ code: 'MISSING_FILE' });
  });
});

describe('resume refuses to start over and explains what it found', () => {
  it("'auto' with every checkpoint corrupt: NO_VALID_CHECKPOINT naming each one, the check it failed, and both ways out", async () => {
    const dirs = await makeRun();
    await unlink(path.join(dirs[2], 'manifest.json'));
    await truncate(path.join(dirs[1], 'tensors.safetensors'), 100);
    const t = path.join(dirs[0], 'tensors.safetensors');
    const bytes = await readFile(t);
    bytes[bytes.length - 1] ^= 0xff;
    await writeFile(t, bytes);
    const err = await resolveResume(runDir, 'auto', { warn: () => undefined }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'NO_VALID_CHECKPOINT' });
    const msg = (err as Error).message;
    expect(msg).toMatch(/has 3 checkpoint\(s\) and none of them verifies; refusing to start again at epoch 1/);
    expect(msg).toMatch(/last-000000003: failed the files present check: .*manifest\.json is missing/);
    expect(msg).toMatch(/last-000000002: failed the file sizes check/);
    expect(msg).toMatch(/last-000000001: failed the sha256 of the files check/);
    expect(msg).toMatch(/--resume none/);
    expect(msg).toContain(`drivetrain restore --from <drive> --run ${path.basename(runDir)} --into ${runDir}`);
    expect(await resolveResume(runDir, 'none')).toBeNull(); // the way out it names works
  });

  it("'auto' on a run without checkpoints is a fresh start (null), not an error", async () => {
    expect(await resolveResume(path.join(root, 'never-ran'), 'auto')).toBeNull();
  });

  it('a path that does not exist is named without listing far-away folders such as /', async () => {
    await makeRun();
    const err = (await resolveResume(runDir, '/nonexistent/ck').catch((e: Error) => e)) as Error;
    expect(err.message).toMatch(/--resume \/nonexistent\/ck: not a checkpoint \(no manifest\.json\); \/nonexistent\/ck does not exist \(nor does \/nonexistent\)/);
    expect(err.message).toMatch(/This run's checkpoints \(.*checkpoints\): last-000000001, last-000000002, last-000000003/);
    expect(err.message).not.toMatch(/\b(usr|bin|etc|proc)\b/);
  });
});

describe('loadCheckpointState', () => {
  it('reads the state without the tensors and rejects a state.json that differs from the manifest', async () => {
    const dirs = await makeRun();
    expect((await loadCheckpointState(dirs[1])).globalStep).toBe(2);
    const file = path.join(dirs[1], 'state.json');
    await writeFile(file, (await readFile(file, 'utf8')).replace(/("globalStep":\s*)2/, (_, key: string) => `${key}9`));
    await expect(loadCheckpointState(dirs[1])).rejects.toMatchObject({ code: 'HASH_MISMATCH' });
  });
});
