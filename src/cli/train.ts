// `drivetrain train …` (flags mirroring the users' training script, or --config file.json) and
// `drivetrain runbook <file> [--stage N]`.
import { Command, Option } from 'commander';
import { parseTrainConfig } from '../train/config.js';
import { bytesArg, configFromFlags, int, num, type TrainFlags } from './train-flags.js';
import { train, type TrainOptions } from '../train/run.js';
import { formatStageTable, loadRunbook, overrideRunbook, runRunbook, runStage, stageIndex, summarizeRunbook, withRunName, type RunbookOverrides } from '../train/runbook.js';

const PROFILE_HELP = "write onnxruntime's profile of each engine session into this folder and print the slowest ops per step at the end (same as DRIVETRAIN_PROFILE=dir)";

/** Exit code of a run that trained but whose kept checkpoints are not all backed up. */
export const BACKUP_INCOMPLETE_EXIT = 4;

interface RunFlags { gdriveBackup?: string; backupTimeout?: number; quiet?: boolean; profile?: string }

function runOptions(f: RunFlags): TrainOptions {
  if (f.profile) process.env.DRIVETRAIN_PROFILE = f.profile; // read by every Engine the run creates
  return { render: !f.quiet, handleSignals: true, backup: f.gdriveBackup ? { to: f.gdriveBackup, flushTimeoutS: f.backupTimeout } : undefined };
}

/** A failed backup is never silent: printed even with --quiet (stderr), and exit code 4. */
function backupExit(results: { backup?: { ok: boolean; message: string } }[], quiet?: boolean): void {
  const bad = results.filter((r) => r.backup && !r.backup.ok);
  if (!bad.length) return;
  if (quiet) for (const r of bad) console.error(r.backup!.message);
  if (!process.exitCode) process.exitCode = BACKUP_INCOMPLETE_EXIT;
}

const BACKUP_TIMEOUT_HELP = 'seconds the end of the run waits for the last uploads before it says what is not backed up (default 90)';

export function register(program: Command): void {
  program
    .command('train')
    .description('Train a model with resumable checkpoints (flags mirror the usual training script)')
    .option('--config <file>', 'JSON train config (flags override its values)')
    .option('--epochs <n>', 'number of epochs', int('--epochs'))
    .option('--batch <n>', 'batch size', int('--batch'))
    .option('--lr <x>', 'learning rate (all groups without their own)', num('--lr'))
    .option('--lr-head <x>', 'learning rate of the head group', num('--lr-head'))
    .option('--lr-backbone <x>', 'learning rate of the backbone group', num('--lr-backbone'))
    .option('--momentum <x>', 'SGD momentum', num('--momentum'))
    .option('--weight-decay <x>', 'weight decay', num('--weight-decay'))
    .option('--freeze-backbone', 'keep the backbone group fixed')
    .option('--freeze-bn', "frozen groups' BatchNorm layers keep their running statistics (PyTorch: backbone.eval())")
    .option('--early-stop-monitor <metric>', 'metric for early stopping (e.g. train_loss, val_loss)')
    .option('--early-stop-min-delta <x>', 'minimum improvement', num('--early-stop-min-delta'))
    .option('--early-stop-patience <n>', 'epochs without improvement before stopping', int('--early-stop-patience'))
    .option('--out <dir>', 'run directory (checkpoints, metrics.jsonl)')
    .option('--save-last', 'save `last` every epoch (default)')
    .option('--no-save-last', 'do not save `last` every epoch')
    .option('--save-steps <n>', 'recovery checkpoint every N steps', int('--save-steps'))
    .option('--save-interval-s <t>', 'recovery checkpoint every T seconds', num('--save-interval-s'))
    .option('--keep-last <n>', 'rotating checkpoints kept', int('--keep-last'))
    .option('--permanent-every <k>', 'keep epoch-NNN permanently every K epochs (never rotated away)', int('--permanent-every'))
    .option('--disk-cap <size>', "most disk the run's checkpoints may use, e.g. 2G (oldest rotating ones go first)", bytesArg('--disk-cap'))
    .option('--seed <n>', 'random seed', int('--seed'))
    .addOption(new Option('--device <d>', "execution provider ('auto': WebGPU when an adapter exists, else CPU)").choices(['cpu', 'webgpu', 'auto']))
    .option('--resume <mode>', "'auto' (default), 'none', or a checkpoint path")
    .option('--gdrive-backup <dir>', 'back up checkpoints in the background to this folder (a mounted Drive or ./drive) or drive:folder; checked before the first step')
    .option('--backup-timeout <s>', BACKUP_TIMEOUT_HELP, num('--backup-timeout'))
    .option('--model <name>', 'model from the registry (glyph, glyph-tiny, mnist, resnet18, resnet34, resnet) or your module ./file.ts#export')
    .option('--model-options <json>', 'options of the model factory, e.g. \'{"width": 16, "stem": "small"}\'')
    .addOption(new Option('--optimizer <name>', 'optimizer').choices(['sgd', 'adamw']))
    .option('--init-from <path>', 'initialise weights from a run, a checkpoint or a .safetensors file (PyTorch names too; fresh optimizer)')
    .option('--init-map <from=to>', 'rename --init-from names by prefix, e.g. --init-map =backbone. --init-map fc=null; repeatable', (v: string, p: string[] = []) => [...p, v])
    .option('--init-groups <groups>', 'load only these parameter groups from --init-from (comma-separated, e.g. backbone)')
    .option('--max-steps <n>', 'stop after N global steps', int('--max-steps'))
    .option('--threads <n>', 'CPU threads for the engine', int('--threads'))
    .option('--data-n <n>', 'number of samples (before the validation split)', int('--data-n'))
    .option('--dataset <name>', 'built-in dataset (glyphs, mnist) or your dataset factory ./file.ts#export')
    .option('--data <dir>', 'your images: class sub-folders, images + --ann CSV, or YOLO images/ + labels/')
    .option('--ann <csv>', 'annotation CSV: filename,class,x,y,w,h (or x1,y1,x2,y2) in pixels, or filename,class')
    .option('--img-size <n>', 'resize images to N×N (default 32)', int('--img-size'))
    .addOption(new Option('--channels <c>', "image channels (default 'auto': 1 when every image is grayscale)").choices(['1', '3', 'auto']))
    .option('--augment', 'augment training images (flip, shift, brightness, contrast; seeded, resumable)')
    .option('--val-fraction <x>', 'share of the images held out for validation (default 0.125)', num('--val-fraction'))
    .option('--cache-dir <dir>', 'decoded-image cache folder (default ~/.cache/drivetrain/images)')
    .option('--quiet', 'no progress output')
    .option('--profile <dir>', PROFILE_HELP)
    .action(async (f: TrainFlags & RunFlags) => {
      const config = parseTrainConfig(configFromFlags(f), f.config ? `config (${f.config} + flags)` : 'flags');
      const s = await train(config, runOptions(f));
      if (s.reason === 'nonFinite') process.exitCode = 3;
      if (s.reason === 'interrupted') process.exitCode = 130;
      backupExit([s], f.quiet);
    });

  program
    .command('runbook <file>')
    .description('Run a training runbook (stages in order, or one stage with --stage)')
    .option('--stage <n>', 'run only this stage (index or name)')
    .option('--run <name>', 'named run: stages go to <runs>/<name>/<stage> instead of the runbook\'s folder')
    .option('--summary', 'print what each stage has reached so far; trains nothing')
    .option('--data <dir>', "your images instead of the runbook's data (class sub-folders, images + --ann CSV, or YOLO images/ + labels/)")
    .option('--ann <csv>', 'annotation CSV of --data: filename,class,x,y,w,h (or x1,y1,x2,y2) in pixels, or filename,class')
    .option('--img-size <n>', 'resize images to N×N', int('--img-size'))
    .option('--model <name>', "model instead of the runbook's (a built-in or your module ./file.ts#export)")
    .addOption(new Option('--device <d>', 'execution provider of every stage').choices(['cpu', 'webgpu', 'auto']))
    .option('--gdrive-backup <dir>', 'back up checkpoints in the background to this folder or drive:folder')
    .option('--backup-timeout <s>', BACKUP_TIMEOUT_HELP, num('--backup-timeout'))
    .option('--quiet', 'no progress output')
    .option('--profile <dir>', PROFILE_HELP)
    .action(async (file: string, f: RunbookOverrides & RunFlags & { stage?: string; run?: string; summary?: boolean }) => {
      const rb = overrideRunbook(withRunName(loadRunbook(file), f.run), f);
      if (f.summary) {
        const rows = await summarizeRunbook(rb);
        console.log(formatStageTable(f.stage !== undefined ? [rows[stageIndex(rb, f.stage)]!] : rows));
        return;
      }
      const t0 = Date.now();
      const results = f.stage !== undefined ? [await runStage(rb, f.stage, runOptions(f))] : await runRunbook(rb, runOptions(f));
      console.log(`\n${formatStageTable(results)}\nTotal wall time ${((Date.now() - t0) / 1000).toFixed(1)}s`);
      if (results.some((r) => r.reason === 'interrupted')) process.exitCode = 130;
      if (results.some((r) => r.reason === 'nonFinite')) process.exitCode = 3;
      backupExit(results, f.quiet);
    });
}
