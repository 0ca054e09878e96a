import { afterEach, describe, expect, it, vi } from 'vitest';
import { LiveDisplay, resetDisplayForTests, show } from './display.js';
import { htmlTable, textBar, textTable } from './html.js';
import { metricPanels } from './charts.js';
import { lineChart, niceTicks } from './svg.js';

describe('svg', () => {
  it('niceTicks covers the range with round steps', () => {
    expect(niceTicks(0, 1)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    const t = niceTicks(0.13, 2.71);
    expect(t[0]).toBeLessThanOrEqual(0.13);
    expect(t[t.length - 1]).toBeGreaterThanOrEqual(2.71);
    expect(niceTicks(3, 3).length).toBeGreaterThan(1);
    // Means of equal values differ in the last bit: one value, not an endless run of tiny steps.
    const t2 = niceTicks(0.09999999999999999, 0.1);
    expect(t2.length).toBeGreaterThan(1);
    expect(t2.length).toBeLessThan(10);
    expect(t2[0]).toBeLessThan(0.1);
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
  it('points carry their value as a hover title', () => {
    const svg = lineChart([{ name: 'val_loss', points: [[1, 0.5], [2, 0.25, 'epoch 2: val_loss = 0.25']] }]);
    expect(svg).toContain('<title>1: val_loss = 0.5</title>');
    expect(svg).toContain('<title>epoch 2: val_loss = 0.25</title>');
  });
  it('puts the legend under the plot', () => {
    const svg = lineChart([{ name: 'acc', points: [[1, 0.9], [2, 0.99]] }, { name: 'val_acc', points: [[1, 0.95], [2, 0.97]], dashed: true }]);
    const r = /<rect x="56" y="([\d.]+)" width="[\d.]+" height="([\d.]+)"/.exec(svg)!;
    const plotBottom = Number(r[1]) + Number(r[2]);
    const labels = [...svg.matchAll(/<text x="[\d.]+" y="([\d.]+)" dy="0.32em" fill="#222">([^<]+)</g)].map((x) => ({ y: Number(x[1]), name: x[2] }));
    expect(labels.map((l) => l.name)).toEqual(['acc', 'val_acc']);
    for (const l of labels) expect(l.y).toBeGreaterThan(plotBottom);
  });
});

describe('metric panels', () => {
  const epochs = [
    { epoch: 0, globalStep: 4, values: { train_loss: 2, cls_loss: 1.9, box_loss: 0.05, acc: 0.4, val_loss: 2.1, val_cls_loss: 2, val_box_loss: 0.06, val_acc: 0.35, lr: 0.1 } },
    { epoch: 1, globalStep: 8, values: { train_loss: 1, cls_loss: 0.95, box_loss: 0.04, acc: 0.6, val_loss: 1.2, val_cls_loss: 1.1, val_box_loss: 0.05, val_acc: 0.5, lr: 0.1 } },
  ];
  const steps = Array.from({ length: 8 }, (_, i) => ({ globalStep: i + 1, values: { loss: 2.5 - i * 0.2, cls_loss: 2.4 - i * 0.2, box_loss: 0.06 - i * 0.002, acc: 0.3 + i * 0.05 } }));
  const frames = (svg: string) => [...svg.matchAll(/<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)" fill="none"/g)].map((m) => m.slice(1).map(Number));
  const yTicks = (svg: string, frame: number[]) =>
    [...svg.matchAll(/<text x="([\d.]+)" y="[\d.]+" dy="0.32em" text-anchor="end" fill="#444">([^<]+)</g)].filter((m) => Math.abs(Number(m[1]) - (frame[0]! - 6)) < 0.01).map((m) => Number(m[2]));

  it('gives each metric its own panel and y axis: box_loss is not flattened on cls_loss scale', () => {
    const { svg, panels } = metricPanels([{ name: 's1', epochs, steps }]);
    expect(panels).toEqual(['loss', 'cls_loss', 'box_loss', 'acc']); // lr is not a metric panel
    const f = frames(svg);
    expect(f).toHaveLength(4);
    const boxTicks = yTicks(svg, f[2]!);
    expect(Math.max(...boxTicks)).toBeLessThan(0.1); // its own scale
    expect(Math.max(...yTicks(svg, f[1]!))).toBeGreaterThan(2);
    // Per-step line (faint, no dots), train and val per epoch with hover values
    expect(svg).toContain('<title>per step</title>');
    expect(svg).toContain('<title>epoch 2: val_box_loss = 0.05</title>');
    expect(svg).toContain('<title>epoch 1: train_loss = 2</title>');
    expect(svg).toMatch(/>train \(epoch mean\)</);
  });

  it('log axes for the loss panels only, on request', () => {
    const { svg } = metricPanels([{ name: 's1', epochs, steps }], { logY: true });
    expect(svg).toContain('>loss (log)<');
    expect(svg).toContain('>box_loss (log)<');
    expect(svg).not.toContain('>acc (log)<');
  });

  it('puts stages one after the other on the run plot, with a mark where each starts', () => {
    const later = epochs.map((e) => ({ ...e, values: { train_loss: e.values.train_loss / 2, val_loss: e.values.val_loss / 2 } }));
    const { svg } = metricPanels([{ name: 'stage1', epochs, steps }, { name: 'stage2', epochs: later }]);
    expect(svg).toContain('<title>stage2 epoch 2: val_loss = 0.6</title>');
    expect(svg.match(/stroke-dasharray="3 3"/g)!.length).toBeGreaterThanOrEqual(2); // stage marks
    expect(svg).toContain('>stage2<title>stage2</title>');
  });

  it('says so when there is nothing to plot', () => {
    expect(metricPanels([{ name: 'x', epochs: [] }]).svg).toContain('no data yet');
  });
});

describe('html', () => {
  it('tables escape content and format numbers', () => {
    const h = htmlTable(['a', 'b'], [['<x>', 0.123456], [null, 3]]);
    expect(h).toContain('&lt;x&gt;');
    expect(h).toContain('0.1235');
    expect(h).toContain('>-<');
    expect(h).toContain('text-align:left'); // classic Notebook right-aligns cells that do not say
    expect(h).toContain('margin-left:0');
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

describe('key/value tables', () => {
  it('have no header row', () => {
    expect(textTable([], [['node', 'v20'], ['store', null]])).toBe('node   v20\nstore  -');
    expect(htmlTable([], [['a', 1]])).not.toContain('<thead>');
  });
});
