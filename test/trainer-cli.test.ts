// `drivetrain train` / `drivetrain runbook`: flag and config errors say what to fix; a small run
// prints the familiar lines and backs up in the background.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { configFromFlags } from '../src/cli/train-flags.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dt-cli-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ['bin/drivetrain.js', ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout + r.stderr };
}

describe('drivetrain train flags', () => {
  it('maps the script-style flags onto the config', () => {
    expect(configFromFlags({
      epochs: 15, batch: 16, lr: 0.002, lrHead: 0.008, lrBackbone: 0.001, momentum: 0.95, weightDecay: 0.001, freezeBackbone: true,
      earlyStopMonitor: 'train_loss', earlyStopMinDelta: 0.0005, earlyStopPatience: 5, saveLast: true, saveSteps: 100, saveIntervalS: 600, keepLast: 3,
    })).toEqual({
      epochs: 15, batchSize: 16, lr: 0.002, lrGroups: { head: 0.008, backbone: 0.001 }, momentum: 0.95, weightDecay: 0.001, freeze: ['backbone'],
      earlyStopping: { monitor: 'train_loss', minDelta: 0.0005, patience: 5 },
      checkpoint: { saveLast: true, saveSteps: 100, saveIntervalS: 600, keepLast: 3 },
    });
    expect(() => configFromFlags({ epochs: 1, lr: 1, earlyStopMonitor: 'val_loss' })).toThrow(/needs --early-stop-patience/);
    expect(configFromFlags({ epochs: 1, lr: 1, model: './m.ts#net', modelOptions: '{"width": 8}', initFrom: 'w.safetensors', initMap: ['=backbone.', 'fc=null'], initGroups: 'backbone, head' }))
      .toEqual({ epochs: 1, lr: 1, model: './m.ts#net', modelOptions: { width: 8 }, initFrom: 'w.safetensors', initMap: { '': 'backbone.', fc: null }, initGroups: ['backbone', 'head'] });
    expect(() => configFromFlags({ epochs: 1, lr: 1, modelOptions: '[1]' })).toThrow(/--model-options expects a JSON object/);
  });

  it('says what to fix for bad flags, config files and runbooks', () => {
    expect(cli('train', '--epochs', '2', '--lr', 'abc').out).toMatch(/--lr expects a number, got "abc"/);
    expect(cli('train', '--epochs', '2.5', '--lr', '1').out).toMatch(/--epochs expects a non-negative whole number, got "2.5"/);
    expect(cli('train', '--epochs', '2').out).toMatch(/missing the learning rate: add --lr X \(or "lr" in --config\), e\.g\. --lr 0\.01 \(a usual start for SGD\)/);
    const bad = path.join(tmp, 'bad.json');
    fs.writeFileSync(bad, JSON.stringify({ epochs: 'ten', lr: 0.1, checkpoint: { keepLast: 0 }, optimiser: 'sgd' }));
    const r = cli('train', '--config', bad);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/invalid config \(.*bad\.json \+ flags\):/);
    expect(r.out).toMatch(/epochs: Invalid input: expected number, received string/);
    expect(r.out).toMatch(/checkpoint\.keepLast: Too small/);
    expect(r.out).toMatch(/unknown key "optimiser"/);
    expect(cli('train', '--config', path.join(tmp, 'nope.json')).out).toMatch(/config file .*nope\.json does not exist/);
    expect(cli('runbook', path.join(tmp, 'missing.json')).out).toMatch(/runbook .*missing\.json does not exist/);
    expect(cli('runbook', 'runbooks/glyphs.json', '--stage', '9').out).toMatch(/no stage "9" in runbook glyphs: stages are 0 \(stage0-pretrain\)/);
    expect(cli('runbook', 'runbooks/glyphs.json', '--summary', '--stage', '9').out).toMatch(/no stage "9" in runbook glyphs/); // --summary honours --stage
    expect(cli('train', '--epochs', '1', '--lr', '0.1', '--model', 'resnet50', '--out', path.join(tmp, 'x')).out).toMatch(/unknown model "resnet50" \(known: glyph, glyph-tiny, mnist, resnet18, resnet34, resnet; or your own module as "\.\/path\/file\.ts#export"\)/);
    // a runbook's folder of stage runs is not a run: refused, and left without a metadata.json
    fs.mkdirSync(path.join(tmp, 'book', 'stage1'), { recursive: true });
    const notRun = cli('clean-checkpoints', '--base', tmp, '--run', 'book');
    expect(notRun.code).toBe(1);
    expect(notRun.out).toMatch(/book is not a run \(no checkpoints\/ or metadata\.json\).*contains: stage1.*pass --base .*book without --run/);
    expect(fs.readdirSync(path.join(tmp, 'book'))).toEqual(['stage1']);
  });

  it('trains from flags with the familiar output and a background backup', () => {
    const out = path.join(tmp, 'run'), drive = path.join(tmp, 'drive');
    const r = cli('train', '--model', 'glyph-tiny', '--epochs', '2', '--batch', '16', '--lr', '0.05', '--lr-head', '0.1', '--freeze-backbone',
      '--data-n', '256', '--save-steps', '5', '--keep-last', '1', '--early-stop-patience', '3', '--out', out, '--gdrive-backup', drive, '--threads', '1');
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/^Epoch 1\/2: train_loss=\d+\.\d{4} cls_loss=\d+\.\d{4} box_loss=\d+\.\d{4} acc=\d+\.\d{4} box_iou=\d+\.\d{4} val_loss=.* time=\d+\.\ds$/m);
    expect(r.out).toMatch(/^Saved last \(epoch 2\)$/m);
    expect(r.out).toMatch(/^✓ Backed up step 28 \(.* new, .* reused\)$/m);
    expect(fs.readdirSync(drive)).toEqual(['run']);
    const again = cli('train', '--model', 'glyph-tiny', '--epochs', '2', '--batch', '16', '--lr', '0.05', '--lr-head', '0.1', '--freeze-backbone', '--data-n', '256', '--out', out, '--threads', '1');
    expect(again.out).toMatch(/This run already finished \(epoch 2, global step 28\); nothing to do/);
  });
});
