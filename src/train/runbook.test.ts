// The stage table shows the metrics the stages produced (a classifier's val_accuracy, a detector's
// box metrics, the training metrics of stages without validation), not a fixed list.
import { describe, expect, it } from 'vitest';
import { parseTrainConfig, stageInput } from './config.js';
import { formatStageTable, loadRunbook, overrideRunbook, stageTableColumns, type StageSummary } from './runbook.js';

const row = (stage: string, first: Record<string, number> | null, last: Record<string, number> | null): StageSummary => ({
  index: 0, stage, out: `runs/x/${stage}`, reason: 'completed', epochs: 2, globalStep: 20, first, last, best: null, initFrom: null, seconds: 1.5, message: '',
});

describe('stage table', () => {
  it('has a column for each validation metric the stages produced', () => {
    const rows = [row('head', { train_loss: 2, val_loss: 1.5, val_accuracy: 0.25 }, { train_loss: 1, val_loss: 0.75, val_accuracy: 0.5 })];
    expect(stageTableColumns(rows)).toEqual(['val_accuracy', 'val_loss']);
    const [head, body] = formatStageTable(rows).split('\n').filter((l) => !/^[-\s]*$/.test(l));
    expect(head).toMatch(/^stage\s+status\s+epochs\s+val_accuracy \(first → last\)\s+val_loss \(first → last\)\s+time$/);
    expect(body).toMatch(/^0 head\s+completed\s+2\s+0\.2500 → 0\.5000\s+1\.5000 → 0\.7500\s+1\.5s$/);
  });

  it("takes a detector's box metrics, and the training metrics when no stage validated", () => {
    const det = { train_loss: 1, val_loss: 1, val_cls_loss: 0.5, val_box_loss: 0.1, val_acc: 0.5, val_box_iou: 0.3 };
    expect(stageTableColumns([row('a', null, null), row('b', det, det)])).toEqual(['val_acc', 'val_box_iou', 'val_box_loss', 'val_cls_loss', 'val_loss']);
    expect(stageTableColumns([row('a', { train_loss: 1, acc: 0.5 }, { train_loss: 0.5, acc: 0.75 })])).toEqual(['acc', 'train_loss']);
    expect(formatStageTable([row('a', null, null)]).split('\n')[0]).toMatch(/^stage\s+status\s+epochs\s+time$/);
  });
});

describe('runbook overrides (CLI --data --ann --img-size --model, notebook DATA ANN IMG_SIZE MODEL)', () => {
  it("put your images and model in every stage; the runbook's own dataset keys give way", () => {
    const rb = loadRunbook('runbooks/glyphs.json');
    expect(overrideRunbook(rb, { data: '', ann: '', imgSize: 0, model: '' })).toBe(rb);
    const o = overrideRunbook(rb, { data: 'imgs', ann: 'imgs/ann.csv', imgSize: 64, model: 'resnet18' });
    const cfgs = o.stages.map((_, i) => parseTrainConfig({ ...stageInput(o, i), initFrom: null }));
    expect(cfgs.map((c) => [c.model, c.data.path, c.data.ann, c.data.size, c.data.seed, c.data.valFraction])).toEqual([
      ['resnet18', 'imgs', 'imgs/ann.csv', 64, 1001, 0.125], // stage0-pretrain keeps its own split seed
      ...[1, 2, 3].map(() => ['resnet18', 'imgs', 'imgs/ann.csv', 64, 1, 0.125]),
    ]);
    expect(o.defaults.data).toEqual({ valFraction: 0.125, seed: 1, path: 'imgs', ann: 'imgs/ann.csv', size: 64 }); // no glyph name, n, noise, clutter
    const m = parseTrainConfig({ ...stageInput(overrideRunbook(rb, { model: 'glyph-tiny', device: 'cpu' }), 1), initFrom: null });
    expect([m.model, m.device, m.data.name]).toEqual(['glyph-tiny', 'cpu', 'glyphs']);
  });
});
