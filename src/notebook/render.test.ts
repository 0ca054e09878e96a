import { afterEach, describe, expect, it, vi } from 'vitest';
import { LiveDisplay, resetDisplayForTests, show } from './display.js';
import { htmlTable, textBar, textTable } from './html.js';
import { notebookProgress } from './progress.js';
import { lineChart, metricsCharts, niceTicks } from './svg.js';

describe('svg', () => {
  it('niceTicks covers the range with round steps', () => {
    expect(niceTicks(0, 1)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    const t = niceTicks(0.13, 2.71);
    expect(t[0]).toBeLessThanOrEqual(0.13);
    expect(t[t.length - 1]).toBeGreaterThanOrEqual(2.71);
    expect(niceTicks(3, 3).length).toBeGreaterThan(1);
  });
  it('draws one polyline per non-empty series, escapes names, maps points into the plot', () => {
    const svg = lineChart(
      [
        { name: 'train<loss>', points: [[1, 2], [2, 1], [3, 0.5]] },
        { name: 'empty', points: [] },
        { name: 'val', points: [[1, 2.5], [2, NaN], [3, 0.7]] },
      ],
      { title: 'T & t', width: 400, height: 200 },
    );
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.endsWith('</svg>')).toBe(true);
    expect(svg.match(/<polyline/g)).toHaveLength(2);
    expect(svg).toContain('train&lt;loss&gt;');
    expect(svg).toContain('T &amp; t');
    expect(svg).not.toContain('empty');
    // x=1 maps to the left edge of the plot area (margin 56), x=3 to the right edge (400-16).
    const pts = /points="([^"]+)"/.exec(svg)![1]!.split(' ').map((p) => p.split(',').map(Number));
    expect(pts[0]![0]).toBeCloseTo(56);
    expect(pts[2]![0]).toBeCloseTo(384);
    expect(pts[0]![1]).toBeLessThan(pts[2]![1]!); // larger y is higher up (smaller SVG y)
    expect(svg.match(/<circle/g)).toHaveLength(5); // the NaN point is dropped
  });
  it('says so when there is no data', () => {
    expect(lineChart([])).toContain('no data yet');
  });
  it('metricsCharts splits losses from other metrics', () => {
    const c = metricsCharts([
      { epoch: 0, values: { train_loss: 1, val_loss: 1.2, val_acc: 0.5 } },
      { epoch: 1, values: { train_loss: 0.5, val_loss: 0.8, val_acc: 0.7 } },
    ]);
    expect(c.keys).toEqual(['train_loss', 'val_acc', 'val_loss']);
    expect(c.losses.match(/<polyline/g)).toHaveLength(2);
    expect(c.others!.match(/<polyline/g)).toHaveLength(1);
  });
  it('puts the legend under the plot and pairs a metric with its dashed val_ twin', () => {
    const c = metricsCharts([
      { epoch: 0, values: { acc: 0.9, val_acc: 0.95, box_iou: 0.5 } },
      { epoch: 1, values: { acc: 0.99, val_acc: 0.97, box_iou: 0.6 } },
    ]);
    const svg = c.others!;
    const plotBottom = (() => {
      const r = /<rect x="56" y="([\d.]+)" width="[\d.]+" height="([\d.]+)"/.exec(svg)!;
      return Number(r[1]) + Number(r[2]);
    })();
    const labels = [...svg.matchAll(/<text x="[\d.]+" y="([\d.]+)" dy="0.32em" fill="#222">([^<]+)</g)].map((x) => ({ y: Number(x[1]), name: x[2] }));
    expect(labels.map((l) => l.name)).toEqual(['acc', 'box_iou', 'val_acc']);
    for (const l of labels) expect(l.y).toBeGreaterThan(plotBottom);
    const line = (name: string) => new RegExp(`<polyline fill="none" stroke="([^"]+)" stroke-width="2"( stroke-dasharray="[^"]+")? points="[^"]+"><title>${name}</title>`).exec(svg)!;
    expect(line('val_acc')[1]).toBe(line('acc')[1]);
    expect(line('val_acc')[2]).toBeDefined();
    expect(line('acc')[2]).toBeUndefined();
    expect(line('box_iou')[1]).not.toBe(line('acc')[1]);
  });
});

describe('html', () => {
  it('tables escape content and format numbers', () => {
    const h = htmlTable(['a', 'b'], [['<x>', 0.123456], [null, 3]]);
    expect(h).toContain('&lt;x&gt;');
    expect(h).toContain('0.1235');
    expect(h).toContain('>-<');
    expect(textTable(['a', 'bb'], [['xyz', 1]])).toBe('a    bb\n---  --\nxyz  1');
    expect(textBar(0.5, 10)).toBe('[#####.....]');
    expect(textBar(2, 4)).toBe('[####]');
  });
});

describe('display outside and inside a (fake) tslab kernel', () => {
  afterEach(() => resetDisplayForTests(undefined));
  it('prints text/plain outside notebooks; LiveDisplay prints only changes', () => {
    resetDisplayForTests(null);
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    show({ 'text/html': '<b>x</b>', 'text/plain': 'x' });
    const live = new LiveDisplay();
    live.update({ 'text/plain': 'a' });
    live.update({ 'text/plain': 'a' });
    live.update({ 'text/plain': 'b' });
    expect(out.mock.calls.map((c) => c[0])).toEqual(['x\n', 'a\n', 'b\n']);
    out.mockRestore();
  });
  it('sends whole bundles with a display id, updates after the first', () => {
    const sent: { data: Record<string, string>; id?: string; update: boolean }[] = [];
    const pub = { display: { html() {}, svg() {}, text() {}, raw() {} }, newDisplay: () => pub.display };
    resetDisplayForTests({ public: pub, write: (m, update) => sent.push({ data: m.data, id: m.transient.display_id, update }) });
    show({ 'text/html': 'h', 'text/plain': 't' });
    const live = new LiveDisplay();
    live.update({ 'text/plain': '1' });
    live.update({ 'text/plain': '2' });
    expect(sent[0]).toEqual({ data: { 'text/html': 'h', 'text/plain': 't' }, id: undefined, update: false });
    expect(sent[1]!.update).toBe(false);
    expect(sent[2]!.update).toBe(true);
    expect(sent[1]!.id).toBe(sent[2]!.id);
    expect(sent[1]!.id).toMatch(/^[0-9a-f]{16}$/);
  });
});

describe('notebookProgress', () => {
  afterEach(() => resetDisplayForTests(undefined));
  it('renders events into a throttled live status, a live plot and text lines', () => {
    const sent: { data: Record<string, string>; id?: string; update: boolean }[] = [];
    const pub = { display: { html() {}, svg() {}, text() {}, raw() {} }, newDisplay: () => pub.display };
    resetDisplayForTests({ public: pub, write: (m, update) => sent.push({ data: m.data, id: m.transient.display_id, update }) });
    const lines: string[] = [];
    const v = notebookProgress({ everyMs: 60_000, print: (l) => lines.push(l) });
    v.listener({ type: 'start', runDir: 'runs/x', epochs: 2, stepsPerEpoch: 4, startEpoch: 0, stage: 's1' });
    for (let i = 1; i <= 4; i++) v.listener({ type: 'step', epoch: 0, epochs: 2, stepInEpoch: i, stepsPerEpoch: 4, globalStep: i, metrics: { loss: 1 / i }, lr: { all: 0.1 } });
    v.listener({ type: 'epoch', epoch: 0, epochs: 2, metrics: { train_loss: 0.5, val_loss: 0.6, val_acc: 0.8 }, seconds: 1 });
    v.listener({ type: 'backup', ok: true, message: 'Backed up step 4', globalStep: 4 });
    v.listener({ type: 'done', reason: 'completed', epoch: 1, globalStep: 4, message: 'Done.' });
    expect(lines[0]).toContain('[s1] Training in runs/x: 2 epochs × 4 steps');
    expect(lines).toContain('✓ Backed up step 4');
    expect(lines.some((l) => l.startsWith('Epoch 1/2: train_loss=0.5000'))).toBe(true);
    expect(v.history).toEqual([{ epoch: 0, values: { train_loss: 0.5, val_loss: 0.6, val_acc: 0.8 } }]);
    expect(v.lastBackup).toEqual({ ok: true, message: 'Backed up step 4' });
    const ids = [...new Set(sent.map((s) => s.id))];
    expect(ids).toHaveLength(2); // status + plot
    const statusMsgs = sent.filter((s) => s.id === ids[0]);
    // start, step 4 (end of epoch forces), epoch, backup, done — steps 1-3 throttled away
    expect(statusMsgs).toHaveLength(5);
    expect(statusMsgs.at(-1)!.data['text/plain']).toBe('[s1] epoch 1/2 [####################] step 4/4 train_loss=0.5000 val_loss=0.6000 val_acc=0.8000');
    expect(statusMsgs.at(-1)!.data['text/html']).toContain('<b>s1</b>');
    expect(statusMsgs.at(-1)!.data['text/html']).toContain('Backed up step 4');
    const plot = sent.find((s) => s.id === ids[1])!;
    expect(plot.data['image/svg+xml']).toContain('<polyline');
  });
});

describe('key/value tables', () => {
  it('have no header row', () => {
    expect(textTable([], [['node', 'v20'], ['store', null]])).toBe('node   v20\nstore  -');
    expect(htmlTable([], [['a', 1]])).not.toContain('<thead>');
  });
});
