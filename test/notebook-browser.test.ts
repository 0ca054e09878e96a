// 01-stage1.ipynb in a real browser: classic Notebook 6 on a loopback port with the drivetrain
// kernel, driven in headless Chromium the way a person would (Cell > Run All, the Interrupt
// button). It checks what they see: the live progress updating in place while the kernel shows
// busy, Interrupt stopping the training without an error, Run All again resuming it, and the
// results plots rendered as SVG. Screenshots go to test/artifacts/notebook-browser/.
//
// The expectations about what the training cell shows live in the `expect…` functions below, so
// that changes to the live block (bar, metrics, checkpoint and backup rows) are made in one place.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { injectParameters, readNotebook, writeNotebook } from '../src/runner/index.js';
import { browserTestBlocker, launchChromium, startNotebook6, type Notebook6 } from './support/notebook6.js';
import { cell, cellIndex, errorOutputs, kernelState, menu, openNotebook, toolbar, waitIdle, type CellView, type KernelState } from './support/notebook6-page.js';

const root = path.resolve(import.meta.dirname, '..');
const artifacts = path.join(root, 'test', 'artifacts', 'notebook-browser');
const blocker = browserTestBlocker();
if (blocker.skip) console.warn(`SKIP browser test: ${blocker.skip}`);

const RUN = `t-browser-${process.pid}`;
const STAGE = 'stage1-head';
// Small and quick, yet long enough (8 epochs of 28 steps) to watch and interrupt the training.
const PARAMS = { RUN, DEVICE: 'cpu', DATA_N: 1024, PRETRAIN_EPOCHS: 1, EPOCHS: 8 };

interface Snapshot {
  text: string;
  /** Position of the live block among the cell's outputs. */
  index: number;
  /** How many outputs look like a live block of this stage. */
  blocks: number;
  kernel: KernelState;
}

/** The live progress block of `stage` among a cell's outputs (null before it appears). */
function liveBlock(c: CellView, stage: string): Snapshot | null {
  const is = (o: CellView['outputs'][number]) => o.kind.includes('output_html') && o.text.includes(stage) && /\bstep\b/.test(o.text);
  const index = c.outputs.findIndex(is);
  if (index < 0) return null;
  return { text: c.outputs[index]!.text, index, blocks: c.outputs.filter(is).length, kernel: 'other' };
}

/** Epoch shown by the live block ("epoch … 3 / 8"). */
const epochOf = (text: string) => Number(/epoch[^\d]*(\d+)\s*\/\s*\d+/i.exec(text)?.[1] ?? 0);

function expectLiveProgress(snaps: Snapshot[]): void {
  const distinct = new Set(snaps.map((s) => s.text));
  expect(distinct.size, 'the live block never changed').toBeGreaterThanOrEqual(3);
  // Updated in place: one block, always at the same place, while later outputs come below it.
  expect(new Set(snaps.map((s) => s.index)).size).toBe(1);
  expect(snaps.every((s) => s.blocks === 1)).toBe(true);
  // The kernel indicator says busy the whole time the cell trains.
  expect(snaps.map((s) => s.kernel)).toEqual(snaps.map(() => 'busy'));
  expect(snaps[snaps.length - 1]!.text).toMatch(/loss=\d/); // `loss=` within an epoch, `train_loss=` at its end
}

function expectInterrupted(train: CellView): void {
  const text = train.outputs.map((o) => o.text).join('\n');
  expect(text).toContain('Interrupted: stopping after this step and saving');
}

function expectResumed(train: CellView): void {
  const text = train.outputs.map((o) => o.text).join('\n');
  expect(text).toMatch(/Resuming from epoch \d+, step \d+ \(global step \d+\)/);
  expect(text).toMatch(/Finished 8 epochs|Stopped early/);
}

/** Plots as inline SVG with lines, numbered axes and a legend naming the metrics. */
function expectPlots(results: CellView): void {
  const svgs = results.outputs.filter((o) => o.kind.includes('output_svg')).map((o) => o.html);
  expect(svgs.length).toBeGreaterThanOrEqual(1);
  const loss = svgs[0]!;
  expect(loss).toMatch(/<svg[\s>]/);
  expect(loss).toMatch(/<polyline/);
  expect([...loss.matchAll(/<text[^>]*>-?[\d.]+(e-?\d+)?<\/text>/g)].length, 'axis tick labels').toBeGreaterThanOrEqual(4);
  expect(loss).toMatch(/<text[^>]*>train_loss<\/text>/); // legend
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/**
 * A screenshot: of the viewport with cell `at`'s last output in view (what the person looks at
 * while it runs), or of the whole notebook. Notebook 6 scrolls inside #site, not the document,
 * so the whole-page shot lets #site grow first.
 */
async function shot(page: Page, name: string, at?: number): Promise<void> {
  const file = path.join(artifacts, `${name}.png`);
  if (at === undefined) {
    await page.evaluate(() => Object.assign((document.querySelector('#site') as HTMLElement).style, { height: 'auto', overflow: 'visible' }));
    await page.screenshot({ path: file, fullPage: true });
    await page.evaluate(() => Object.assign((document.querySelector('#site') as HTMLElement).style, { height: '', overflow: '' }));
    return;
  }
  await page.evaluate((i) => [...document.querySelectorAll('.cell')][i]?.querySelector('.output_area:last-child')?.scrollIntoView({ block: 'end' }), at);
  await page.screenshot({ path: file });
}

describe.skipIf(!!blocker.skip)('01-stage1.ipynb in classic Notebook 6 and headless Chromium', () => {
  let server: Notebook6 | undefined;
  let chromium: Awaited<ReturnType<typeof launchChromium>> | undefined;
  const drive = mkdtempSync(path.join(os.tmpdir(), 'dt-browser-drive-'));
  // A copy with the test's parameters (as `-p` would inject them), inside the project so the
  // kernel runs its cells in the project root. notebooks/executed/ is git-ignored.
  const copyDir = path.join(root, 'notebooks', 'executed', `browser-${process.pid}`);

  beforeAll(async () => {
    if (blocker.fail) throw new Error(blocker.fail);
    mkdirSync(artifacts, { recursive: true });
    mkdirSync(copyDir, { recursive: true });
    const nb = injectParameters(readNotebook(path.join(root, 'notebooks', '01-stage1.ipynb')), { ...PARAMS, DRIVE: drive }, true).notebook;
    writeNotebook(path.join(copyDir, '01-stage1.ipynb'), nb);
    [server, chromium] = await Promise.all([startNotebook6({ notebookDir: path.join(root, 'notebooks'), kernelSpecDir: path.join(root, 'kernel-spec') }), launchChromium()]);
  });
  afterAll(async () => {
    await chromium?.close();
    await server?.stop();
    for (const d of [copyDir, drive, path.join(root, 'runs', RUN)]) rmSync(d, { recursive: true, force: true });
  });

  it('Run All shows live progress in place, Interrupt stops it calmly, Run All again resumes and plots', async () => {
    const page = await chromium!.browser.newPage();
    await page.setViewport({ width: 1200, height: 1000 });
    await openNotebook(page, server!.url(`executed/browser-${process.pid}/01-stage1.ipynb`));
    const trainAt = await cellIndex(page, 'runStage(STAGE'); // the notebook takes STAGE (stage1-head here) from the runbook
    const resultsAt = await cellIndex(page, 'results(STAGE');
    expect(trainAt).toBeGreaterThan(0);

    // 1. Run All; watch the stage's live block until epoch 3, then press Interrupt.
    await menu(page, 'celllink', 'run_all_cells');
    const snaps: Snapshot[] = [];
    for (let t = 0; t < 180_000; t += 250) {
      const c = await cell(page, trainAt);
      const s = liveBlock(c, STAGE);
      if (s) {
        s.kernel = await kernelState(page);
        if (!snaps.length || snaps[snaps.length - 1]!.text !== s.text) {
          snaps.push(s);
          if (snaps.length === 1 || snaps.length === 3) await shot(page, `live-${snaps.length}`, trainAt);
        }
      }
      expect(await errorOutputs(page)).toEqual([]);
      if (!c.running && c.prompt !== 'In [*]:' && s) throw new Error(`${STAGE} ended before it could be interrupted:\n${c.outputs.map((o) => o.text).join('\n')}`);
      if (s && epochOf(s.text) >= 3 && snaps.length >= 3) break;
      await sleep(250);
    }
    expectLiveProgress(snaps);
    await toolbar(page, 'interrupt-kernel');
    await waitIdle(page, 120_000);
    await shot(page, 'interrupted', trainAt);
    expectInterrupted(await cell(page, trainAt));
    expect(await errorOutputs(page)).toEqual([]); // no red "Interrupted asynchronously"
    expect((await cell(page, resultsAt)).prompt).toBe('In [ ]:'); // Run All stopped at the interrupt
    expect(await kernelState(page)).toBe('idle');

    // 2. Run All again: the training resumes where it stopped and finishes; the results cell plots.
    await menu(page, 'celllink', 'run_all_cells');
    for (let t = 0; t < 180_000 && !/^In \[\d+\]:$/.test((await cell(page, resultsAt)).prompt); t += 500) await sleep(500);
    await waitIdle(page, 60_000);
    await shot(page, 'final');
    expectResumed(await cell(page, trainAt));
    expectPlots(await cell(page, resultsAt));
    expect(await errorOutputs(page)).toEqual([]);
  }, 420_000);
});
