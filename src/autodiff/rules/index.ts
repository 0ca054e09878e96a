// Every VJP rule's gradient config, one rules/<Op>.ts each; registry.ts registers this list.
// A rule file not listed here is not registered (registry.test.ts checks that none is missing).
import type { GradConfig } from '../types.js';
import { absGrad } from './Abs.js';
import { addGrad } from './Add.js';
import { averagePoolGrad } from './AveragePool.js';
import { batchNormalizationGrad } from './BatchNormalization.js';
import { castGrad } from './Cast.js';
import { clipGrad } from './Clip.js';
import { concatGrad } from './Concat.js';
import { convGrad } from './Conv.js';
import { divGrad } from './Div.js';
import { erfGrad } from './Erf.js';
import { expGrad } from './Exp.js';
import { expandGrad } from './Expand.js';
import { flattenGrad } from './Flatten.js';
import { gatherGrad } from './Gather.js';
import { gatherElementsGrad } from './GatherElements.js';
import { gemmGrad } from './Gemm.js';
import { globalAveragePoolGrad } from './GlobalAveragePool.js';
import { identityGrad } from './Identity.js';
import { layerNormalizationGrad } from './LayerNormalization.js';
import { leakyReluGrad } from './LeakyRelu.js';
import { logGrad } from './Log.js';
import { logSoftmaxGrad } from './LogSoftmax.js';
import { matMulGrad } from './MatMul.js';
import { maxGrad } from './Max.js';
import { maxPoolGrad } from './MaxPool.js';
import { minGrad } from './Min.js';
import { mulGrad } from './Mul.js';
import { negGrad } from './Neg.js';
import { powGrad } from './Pow.js';
import { reciprocalGrad } from './Reciprocal.js';
import { reduceLogSumExpGrad } from './ReduceLogSumExp.js';
import { reduceMaxGrad } from './ReduceMax.js';
import { reduceMeanGrad } from './ReduceMean.js';
import { reduceMinGrad } from './ReduceMin.js';
import { reduceSumGrad } from './ReduceSum.js';
import { reduceSumSquareGrad } from './ReduceSumSquare.js';
import { reluGrad } from './Relu.js';
import { reshapeGrad } from './Reshape.js';
import { scatterElementsGrad } from './ScatterElements.js';
import { scatterNDGrad } from './ScatterND.js';
import { sigmoidGrad } from './Sigmoid.js';
import { sliceGrad } from './Slice.js';
import { softmaxGrad } from './Softmax.js';
import { softplusGrad } from './Softplus.js';
import { splitGrad } from './Split.js';
import { sqrtGrad } from './Sqrt.js';
import { squeezeGrad } from './Squeeze.js';
import { subGrad } from './Sub.js';
import { sumGrad } from './Sum.js';
import { tanhGrad } from './Tanh.js';
import { transposeGrad } from './Transpose.js';
import { unsqueezeGrad } from './Unsqueeze.js';
import { whereGrad } from './Where.js';

export const gradConfigs: readonly GradConfig[] = [
  absGrad, addGrad, averagePoolGrad, batchNormalizationGrad, castGrad, clipGrad, concatGrad, convGrad, divGrad,
  erfGrad, expGrad, expandGrad, flattenGrad, gatherGrad, gatherElementsGrad, gemmGrad, globalAveragePoolGrad,
  identityGrad, layerNormalizationGrad, leakyReluGrad, logGrad, logSoftmaxGrad, matMulGrad, maxGrad, maxPoolGrad,
  minGrad, mulGrad, negGrad, powGrad, reciprocalGrad, reduceLogSumExpGrad, reduceMaxGrad, reduceMeanGrad,
  reduceMinGrad, reduceSumGrad, reduceSumSquareGrad, reluGrad, reshapeGrad, scatterElementsGrad, scatterNDGrad,
  sigmoidGrad, sliceGrad, softmaxGrad, softplusGrad, splitGrad, sqrtGrad, squeezeGrad, subGrad, sumGrad, tanhGrad,
  transposeGrad, unsqueezeGrad, whereGrad,
];
