// What a person sees and does on a classic Notebook 6 page, read from its DOM (menus, toolbar,
// prompts, output areas, the kernel indicator).
import type { Page } from 'puppeteer-core';

export interface OutputView {
  /** Notebook's classes of the output: output_stream output_stdout, output_html, output_svg, output_error … */
  kind: string;
  text: string;
  html: string;
}

export interface CellView {
  prompt: string;
  running: boolean;
  outputs: OutputView[];
}

export type KernelState = 'idle' | 'busy' | 'dead' | 'other';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function openNotebook(page: Page, url: string): Promise<void> {
  await page.goto(url, { waitUntil: 'load' });
  await page.waitForFunction(() => (window as any).Jupyter?.notebook?.kernel?.is_connected?.(), { timeout: 120_000 });
  await page.waitForSelector('#kernel_indicator_icon.kernel_idle_icon', { timeout: 120_000 });
}

/** Clicks a menu, then one of its items (ids as in Notebook 6: celllink/run_all_cells …). */
export async function menu(page: Page, menuId: string, itemId: string): Promise<void> {
  await page.click(`#${menuId}`);
  await page.waitForSelector(`#${itemId} a`, { visible: true });
  await page.click(`#${itemId} a`);
}

export async function toolbar(page: Page, action: string): Promise<void> {
  await page.click(`#maintoolbar button[data-jupyter-action="jupyter-notebook:${action}"]`);
}

export function kernelState(page: Page): Promise<KernelState> {
  return page.evaluate(() => {
    const c = document.querySelector('#kernel_indicator_icon')?.className ?? '';
    return c.includes('kernel_idle_icon') ? 'idle' : c.includes('kernel_busy_icon') ? 'busy' : c.includes('kernel_dead_icon') ? 'dead' : 'other';
  });
}

/** Index of the first code cell whose source contains `needle`. */
export function cellIndex(page: Page, needle: string): Promise<number> {
  return page.evaluate((n) => [...document.querySelectorAll('.cell')].findIndex((c) => c.classList.contains('code_cell') && (c.querySelector('.input_area') as HTMLElement)?.innerText.includes(n)), needle);
}

export function cell(page: Page, index: number): Promise<CellView> {
  return page.evaluate((i) => {
    const el = document.querySelectorAll('.cell')[i] as HTMLElement;
    const outputs = [...el.querySelectorAll('.output_area .output_subarea')].map((o) => ({ kind: o.className, text: (o as HTMLElement).innerText, html: o.innerHTML }));
    return { prompt: (el.querySelector('.input_prompt') as HTMLElement).innerText.replace(/\u00a0/g, ' ').trim(), running: el.classList.contains('running'), outputs };
  }, index);
}

export function errorOutputs(page: Page): Promise<string[]> {
  return page.evaluate(() => [...document.querySelectorAll('.output_error')].map((e) => (e as HTMLElement).innerText));
}

/** Waits until no cell runs and the kernel is idle (for `settleMs` in a row). */
export async function waitIdle(page: Page, timeoutMs: number, settleMs = 800): Promise<void> {
  let since = 0;
  for (let t = 0; t < timeoutMs; t += 200) {
    const quiet = (await kernelState(page)) === 'idle' && !(await page.$('.cell.running'));
    since = quiet ? since + 200 : 0;
    if (since >= settleMs) return;
    await sleep(200);
  }
  throw new Error(`the notebook was still running after ${timeoutMs / 1000} s`);
}
