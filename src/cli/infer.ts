// `drivetrain export RUN`, `drivetrain predict RUN image…`, `drivetrain evaluate RUN`: a trained
// run (its folder, or one checkpoint folder) used without training (src/train/predict.ts).
import { Option, type Command } from 'commander';
import { parsePrefixMap } from '../engine/interop.js';
import { evaluateRun, exportRun, predictImages, type Prediction } from '../train/predict.js';
import { int } from './train-flags.js';

const collect = (v: string, prev: string[] = []) => [...prev, v];
const checkpointOption = () => new Option('--checkpoint <which>', "best (default: the best by the run's monitor, else the newest), last, a checkpoint name, or a path").default('best');
const deviceOption = () => new Option('--device <d>', 'execution provider').choices(['cpu', 'webgpu', 'auto']).default('cpu');

function predictionLine(p: Prediction): string {
  const top = p.top.map((t) => `${t.label} ${t.score.toFixed(3)}`).join(', ');
  const box = p.box ? `  box x=${p.box.x.toFixed(1)} y=${p.box.y.toFixed(1)} w=${p.box.width.toFixed(1)} h=${p.box.height.toFixed(1)} px` : '';
  return `${p.file}: ${p.label} (${p.score.toFixed(3)})${box}  [top: ${top}]`;
}

export function register(program: Command): void {
  program
    .command('export <run>')
    .description('Write a trained run as an ONNX model (dynamic batch; class names and preprocessing in its metadata) and/or as PyTorch-named safetensors weights')
    .addOption(checkpointOption())
    .option('--onnx <file>', 'inference model for onnxruntime and other ONNX runtimes')
    .option('--safetensors <file>', 'weights as a PyTorch state_dict (load with safetensors.torch.load_file + load_state_dict)')
    .option('--map <from=to>', 'rename state_dict names by prefix, e.g. --map backbone= (torchvision names) --map head=null (leave out); repeatable', collect)
    .option('--batch <n>', 'fixed batch size, used only when the graph depends on it', int('--batch'))
    .action(async (run: string, o: { checkpoint: string; onnx?: string; safetensors?: string; map?: string[]; batch?: number }) => {
      const r = await exportRun(run, { checkpoint: o.checkpoint, onnx: o.onnx, safetensors: o.safetensors, map: o.map ? parsePrefixMap(o.map) : undefined, batchSize: o.batch });
      console.log(`checkpoint ${r.checkpoint} (global step ${r.globalStep})`);
      if (r.onnx) console.log(`wrote ${r.onnx.path} (${(r.onnx.bytes / 1e6).toFixed(2)} MB): inputs ${r.onnx.inputs.join(', ')} [${r.onnx.dynamicBatch ? 'batch' : 'fixed batch'}, …], outputs ${r.onnx.outputs.join(', ')}; classes ${r.onnx.metadata.classes}`);
      if (r.safetensors) console.log(`wrote ${r.safetensors.path}: ${r.safetensors.tensors.length} tensors (PyTorch names, e.g. ${r.safetensors.tensors.slice(0, 3).join(', ')})`);
    });

  program
    .command('predict <run> <images...>')
    .description('Classify (and locate, for detectors) image files with a trained run')
    .addOption(checkpointOption())
    .addOption(deviceOption())
    .option('--top <k>', 'classes listed per image', int('--top'), 3)
    .option('--json', 'one JSON object per image')
    .action(async (run: string, images: string[], o: { checkpoint: string; device: 'cpu' | 'webgpu' | 'auto'; top: number; json?: boolean }) => {
      const preds = await predictImages(run, images, { checkpoint: o.checkpoint, device: o.device, top: o.top });
      for (const p of preds) console.log(o.json ? JSON.stringify(p) : predictionLine(p));
    });

  program
    .command('evaluate <run>')
    .description("Loss and metrics of a trained run's checkpoint on its validation data (rebuilt from the run's config)")
    .addOption(checkpointOption())
    .addOption(deviceOption())
    .addOption(new Option('--split <s>', 'which part of the data').choices(['val', 'train']).default('val'))
    .option('--batch <n>', 'batch size (default: the run\'s)', int('--batch'))
    .option('--json', 'print the result as JSON')
    .action(async (run: string, o: { checkpoint: string; device: 'cpu' | 'webgpu' | 'auto'; split: 'val' | 'train'; batch?: number; json?: boolean }) => {
      const r = await evaluateRun(run, { checkpoint: o.checkpoint, device: o.device, split: o.split, batchSize: o.batch });
      if (o.json) console.log(JSON.stringify(r));
      else console.log(`${r.checkpoint} (global step ${r.globalStep}), ${r.samples} ${r.split} samples: ${Object.entries(r.metrics).map(([k, v]) => `${k}=${v.toFixed(4)}`).join(' ')}`);
    });
}
