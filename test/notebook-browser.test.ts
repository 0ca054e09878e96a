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
// Small and quick, yet long enough (8 epochs of 56 steps, ~2 s each here) to watch and interrupt
// the training while the browser polls and takes screenshots.
const PARAMS = { RUN, DEVICE: 'cpu', DATA_N: 2048, PRETRAIN_EPOCHS: 1, EPOCHS: 8 };
const STEPS = 56;

interface Snapshot {
  text: string;
  html: string;
  /** Position of the live block among the cell's outputs. */
  index: number;
  /** How many outputs look like a live block of this stage. */
  blocks: number;
  /** How many outputs the cell has (the block is the last one). */
  outputs: number;
  kernel: KernelState;
}

/** The live progress block of `stage` among a cell's outputs (null before it appears). */
function liveBlock(c: CellView, stage: string): Snapshot | null {
  const is = (o: CellView['outputs'][number]) => o.kind.includes('output_html') && o.html.includes('drivetrain-progress') && o.text.includes(stage);
  const index = c.outputs.findIndex(is);
  if (index < 0) return null;
  return { text: c.outputs[index]!.text, html: c.outputs[index]!.html, index, blocks: c.outputs.filter(is).length, outputs: c.outputs.length, kernel: 'other' };
}

/** Epoch shown by the live block's bar ("epoch 3/8" on a line of its own, not the "Epoch 2/8: …" lines). */
const epochOf = (text: string) => Number(/(?:^|\n)epoch (\d+)\/\d+\s*\n/.exec(text)?.[1] ?? 0);
const cellText = (c: CellView) => c.outputs.map((o) => o.text).join('\n');

function expectLiveProgress(snaps: Snapshot[]): void {
  const distinct = new Set(snaps.map((s) => s.text));
  expect(distinct.size, 'the live block never changed').toBeGreaterThanOrEqual(3);
  // Updated in place: one block, always at the same place, at the bottom of the cell.
  expect(new Set(snaps.map((s) => s.index)).size).toBe(1);
  expect(snaps.every((s) => s.blocks === 1 && s.index === s.outputs - 1)).toBe(true);
  // The kernel indicator says busy the whole time the cell trains.
  expect(snaps.map((s) => s.kernel)).toEqual(snaps.map(() => 'busy'));
  const { text: last } = snaps[snaps.length - 1]!;
  // tqdm's fields, the status rows, one line per finished epoch above the box.
  expect(last).toMatch(new RegExp(`\\d+/${STEPS} \\[\\d\\d:\\d\\d<(\\d\\d:\\d\\d|\\?), [\\d.]+(it/s|s/it)\\]`));
  expect(last).toMatch(new RegExp(`\\d+/${8 * STEPS} steps \\[\\d\\d:\\d\\d<(\\d\\d:\\d\\d|\\?)\\]`));
  expect(last).toMatch(/checkpoint\s+✓ \S+-\d+ \(step \d+, epoch \d+\) on disk/);
  expect(last).toMatch(/backup\s+(✓ Backed up step \d+|to \S+ — nothing backed up yet)/); // backups lag their checkpoints
  const lines = last.match(/^Epoch \d+\/8: train_loss=/gm)?.length ?? 0;
  expect([epochOf(last) - 1, epochOf(last)]).toContain(lines);
  // The same metric names within an epoch as after it (train_loss, not loss then train_loss).
  expect(snaps.some((s) => /train \(epoch \d+\)/.test(s.text) && s.html.includes('<span style="opacity:.65">train_loss</span>'))).toBe(true);
  expect(snaps.some((s) => s.html.includes('<span style="opacity:.65">loss</span>'))).toBe(false);
}

/** The detailed log is in the run's log file, not in the cell. */
function expectNoLogLines(train: CellView): void {
  const streams = train.outputs.filter((o) => o.kind.includes('output_stream')).map((o) => o.text).join('\n');
  expect(streams).not.toMatch(/Backed up|Saved|Interrupted/);
}

function expectInterrupted(train: CellView): void {
  const text = cellText(train);
  expect(text).toMatch(/Interrupted (at epoch \d+\/8, step \d+\/56|after epoch \d+\/8) \(global step \d+\)\. Saved checkpoint signal-\d+\. Backed up to \S+\. Re-run this cell to continue from there\./);
  expect(text.match(/Interrupt|interrupt/g)?.length).toBe(2); // the message and the block's state, no second hint
  expect(text).not.toMatch(/command|resume: 'auto'/);
}

function expectResumed(train: CellView): void {
  const text = cellText(train);
  expect(text).toMatch(/stage0-pretrain has already finished \(1 epoch, global step \d+, in \S+\): nothing to train/);
  expect(text).not.toMatch(/epoch 1\/0/);
  expect(text).toMatch(/Resuming from epoch \d+, step \d+ \(global step \d+\)/);
  expect(text).toMatch(/Finished 8 epochs|Stopped early/);
}

/** Plots as inline SVG: one panel per metric with numbered axes, a legend, hover values; and the run plot across stages. */
function expectPlots(results: CellView): void {
  const svgs = results.outputs.filter((o) => o.kind.includes('output_svg')).map((o) => o.html);
  expect(svgs.length).toBe(2); // the stage, and the run (stage0-pretrain → stage1-head)
  const [stage, run] = svgs as [string, string];
  expect(stage).toMatch(/<svg[\s>]/);
  expect(stage.match(/<rect [^>]*fill="none"/g)!.length, 'panels').toBeGreaterThanOrEqual(4);
  for (const panel of ['loss', 'cls_loss', 'box_loss', 'acc']) expect(stage).toContain(`>${panel}</text>`);
  expect([...stage.matchAll(/<text[^>]*>-?[\d.]+(e-?\d+)?<\/text>/g)].length, 'axis tick labels').toBeGreaterThanOrEqual(16);
  expect(stage).toMatch(/<text[^>]*>train \(epoch mean\)<\/text>/); // legend
  expect(stage).toContain('<title>per step</title>');
  expect(stage).toMatch(/<title>epoch \d+: val_box_loss = [\d.e-]+<\/title>/); // values on hover
  expect(run).toMatch(/<title>stage1-head epoch \d+: val_loss = [\d.e-]+<\/title>/);
  expect(run).toContain('>stage0-pretrain<title>');
}

/** Where the block's parts sit: classic Notebook right-aligns table cells, which the block must not suffer from. */
async function blockLayout(page: Page, at: number): Promise<{ outputLeft: number; labels: number[]; bar: number; align: string }> {
  return page.evaluate((i) => {
    const el = [...document.querySelectorAll('.cell')][i]!.querySelector('.output_area:last-child .drivetrain-progress') as HTMLElement;
    const grid = el.querySelector('div[style*="grid"]') as HTMLElement;
    const cells = [...grid.children] as HTMLElement[];
    const labels = cells.filter((_, k) => k % 2 === 0).map((c) => c.getBoundingClientRect().left);
    const bar = (cells[1]!.firstElementChild as HTMLElement).getBoundingClientRect().left;
    return { outputLeft: el.getBoundingClientRect().left, labels, bar, align: getComputedStyle(cells[0]!).textAlign };
  }, at);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A screenshot of cell `at`'s outputs alone (the live block, or the results); #site grows as in shot(). */
async function blockShot(page: Page, name: string, at: number): Promise<void> {
  await page.evaluate(() => Object.assign((document.querySelector('#site') as HTMLElement).style, { height: 'auto', overflow: 'visible' }));
  const el = await page.evaluateHandle((i) => [...document.querySelectorAll('.cell')][i]!.querySelector('.output_wrapper') as HTMLElement, at);
  await el.asElement()!.screenshot({ path: path.join(artifacts, `${name}.png`) });
  await page.evaluate(() => Object.assign((document.querySelector('#site') as HTMLElement).style, { height: '', overflow: '' }));
}

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

  it('Run All shows one live block in place, Interrupt stops it calmly after saving, Run All again resumes and plots', async () => {
    const page = await chromium!.browser.newPage();
    await page.setViewport({ width: 1200, height: 1000 });
    await openNotebook(page, server!.url(`executed/browser-${process.pid}/01-stage1.ipynb`));
    const trainAt = await cellIndex(page, 'runStage(STAGE'); // the notebook takes STAGE (stage1-head here) from the runbook
    const resultsAt = await cellIndex(page, 'results(STAGE');
    expect(trainAt).toBeGreaterThan(0);

    // 1. Run All; watch the stage's live block until epoch 2, then press Interrupt.
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
      if (!c.running && c.prompt !== 'In [*]:' && s) throw new Error(`${STAGE} ended before it could be interrupted:\n${cellText(c)}`);
      if (s && epochOf(s.text) >= 2 && snaps.length >= 3) break;
      await sleep(250);
    }
    // Interrupt (at once: the stage takes seconds): the cell stays busy until the one message,
    // after the save and the backup, is there.
    const pressedAt = Date.now();
    const pressedText = snaps[snaps.length - 1]!.text;
    await toolbar(page, 'interrupt-kernel');
    // The first time the indicator shows idle, the message (written after the save and backup) is there.
    const hasMessage = async () => /Interrupted (at|after) epoch/.test(cellText(await cell(page, trainAt)));
    let messageAt = 0;
    let idleAt = 0;
    for (let t = 0; t < 120_000 && !idleAt; t += 100) {
      if (!messageAt && (await hasMessage())) messageAt = Date.now();
      if ((await kernelState(page)) === 'idle') idleAt = Date.now();
      else await sleep(100);
    }
    const messageAtIdle = await hasMessage();
    await waitIdle(page, 120_000);
    await shot(page, 'interrupted', trainAt);
    const stoppedAt = /Interrupted (?:at|after) epoch (\d+)\/8(?:, step (\d+))?/.exec(cellText(await cell(page, trainAt)));
    console.log(`Interrupt pressed at epoch ${epochOf(pressedText)} (${/(\d+)\/\d+ \[/.exec(pressedText)?.[1]}/${STEPS}); stopped at epoch ${stoppedAt?.[1]}, step ${stoppedAt?.[2] ?? 'end'}; message ${messageAt ? `${messageAt - pressedAt} ms` : 'with the idle'}, idle ${idleAt - pressedAt} ms after the press`);
    expect(messageAtIdle, `the kernel showed idle before the message; the cell shows:\n${cellText(await cell(page, trainAt))}`).toBe(true);
    expectLiveProgress(snaps);
    // Laid out as written, not as classic Notebook lays out tables.
    const layout = await blockLayout(page, trainAt);
    expect(layout.align).toBe('left');
    expect(new Set(layout.labels.map((x) => Math.round(x))).size, 'labels in one left-aligned column').toBe(1);
    expect(layout.labels[0]! - layout.outputLeft).toBeLessThan(30);
    expect(layout.bar - layout.labels[0]!, 'bar right after the labels').toBeLessThan(160);

    await blockShot(page, 'block-interrupted', trainAt);
    const interrupted = await cell(page, trainAt);
    expectInterrupted(interrupted);
    expectNoLogLines(interrupted);
    expect(await errorOutputs(page)).toEqual([]); // no red "Interrupted asynchronously"
    expect((await cell(page, resultsAt)).prompt).toBe('In [ ]:'); // Run All stopped at the interrupt
    expect(await kernelState(page)).toBe('idle');

    // 2. Run All again: the training resumes where it stopped and finishes; the results cell plots.
    await menu(page, 'celllink', 'run_all_cells');
    for (let t = 0; t < 180_000 && !/^In \[\d+\]:$/.test((await cell(page, resultsAt)).prompt); t += 500) await sleep(500);
    await waitIdle(page, 60_000);
    await shot(page, 'final');
    await blockShot(page, 'results', resultsAt);
    const resumed = await cell(page, trainAt);
    expectResumed(resumed);
    expectNoLogLines(resumed);
    expect(resumed.outputs.filter((o) => o.html.includes('drivetrain-progress'))).toHaveLength(1); // one block for the stage that trained
    expectPlots(await cell(page, resultsAt));
    expect(await errorOutputs(page)).toEqual([]);
  }, 420_000);
});
