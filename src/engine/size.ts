// Analytic size of a ViT: parameter count and a training-memory estimate, computed
// from the config alone so a model too large to fit (ViT-L/16) is refused before
// a single tensor is allocated.
import type { KernelPath } from './backend';
import type { RunConfig } from './config';

export interface ModelDims {
  /** tokens per image: patches + the class token */
  tokens: number;
  patches: number;
  /** flattened patch length p*p*C */
  patchDim: number;
  width: number;
  mlpWidth: number;
  headDim: number;
}

export function modelDims(m: RunConfig['model']): ModelDims {
  const grid = Math.floor(m.imageSize / m.patchSize);
  const patches = grid * grid;
  return {
    tokens: patches + 1,
    patches,
    patchDim: m.patchSize * m.patchSize * m.channels,
    width: m.width,
    mlpWidth: Math.round(m.width * m.mlpRatio),
    headDim: m.width / m.heads,
  };
}

/** Parameter count, matching the variables `createViT` makes. */
export function countParams(m: RunConfig['model']): number {
  const { tokens, patchDim: P, width: D, mlpWidth: F } = modelDims(m);
  const embed = P * D + D + D + tokens * D; // projection, class token, positions
  const block = 4 * D + 4 * (D * D + D) + (D * F + F) + (F * D + D); // 2 LNs, q k v o, fc1, fc2
  const head = 2 * D + D * m.numClasses + m.numClasses; // final LN, classifier
  return embed + m.depth * block + head;
}

/**
 * Variables `createViT` makes: 8 outside the blocks (class token, positions, the patch
 * embedding's two, the final LayerNorm's two, the classifier's two) and 16 a block;
 * with `adapters` LoRA adapters, their A and B too.
 */
export function countTensors(m: RunConfig['model'], adapters = 0): number {
  return 8 + 16 * m.depth + 2 * adapters;
}

/**
 * Floats per image per block at the peak of a training step (end of the forward pass,
 * start of the backward one), where tfjs's tape still holds every intermediate and the
 * first gradients exist. Fitted to the peak `tf.profile` reports for this engine on
 * four shapes (test/unit/size.test.ts checks two of them): in token-by-width units
 * it is ~155 with the MLP at 4x width, plus ~4 head-by-token-by-token tensors
 * (scores, softmax and their gradients).
 */
const ACT_TD = 55;
const ACT_TF = 25;
const ACT_HTT = 4;

export interface MemoryEstimate {
  params: number;
  /** weights, gradients and the two AdamW moments: 16 bytes a parameter */
  parameterBytes: number;
  activationBytes: number;
  totalBytes: number;
}

/**
 * Floats per image the compiled step's own buffers hold (compiled/record.ts): per block
 * the two LayerNorms' outputs, q, k, v, the attention output, the projection's and
 * fc2's outputs (8 token-by-width), fc1's pre-activation and output (2 token-by-MLP-width)
 * and the attention's log-sum-exp (heads by tokens); shared by the blocks, the backward's
 * ~13 token-by-width and one token-by-MLP-width gradient buffers. Measured on the H200
 * (batch 128): tiny 790 MB held against 766 MB estimated, small 2,161 MB against 2,083;
 * since the weight gradients on named tiles (their split-K partials, not counted here:
 * 26 MB at tiny, 52 at small, up to 44 splits of one dW), 799 and 2,182; with the
 * trained input gradients' transposed weights (the forty-second session) 802 and 2,219
 * on an H100; with two more partial buffers for the query's, key's and value's weight
 * gradients in one launch (13 MB at tiny, 17 at small) 815 and 2,236.
 */
function compiledPerImage(m: RunConfig['model'], T: number, D: number, F: number): number {
  return m.depth * (8 * T * D + 2 * T * F + m.heads * T) + 13 * T * D + T * F;
}

/**
 * The fused ops run through tfjs's tape, which keeps what the compiled step keeps and the
 * gradients it makes on the way: 1.40 GB peak against the compiled step's 0.79 GB on the
 * H200 (tiny, batch 128), so twice the compiled step's activations (1.49 GB estimated).
 */
const FUSED_OVER_COMPILED = 2;

/**
 * The training memory of a config on a kernel path: tfjs's composite tape (the default,
 * and wasm's, cpu's and webgl's) keeps every intermediate; the fused ops and the compiled
 * step keep a small fixed set per block (the attention scores are never stored).
 */
export function estimateMemory(cfg: RunConfig, kernels: KernelPath = 'composite'): MemoryEstimate {
  const m = cfg.model;
  const { tokens: T, width: D, mlpWidth: F } = modelDims(m);
  const params = countParams(m);
  const perImage = kernels === 'composite'
    ? m.depth * (ACT_TD * T * D + ACT_TF * T * F + ACT_HTT * m.heads * T * T)
    : (kernels === 'fused' ? FUSED_OVER_COMPILED : 1) * compiledPerImage(m, T, D, F);
  const activationBytes = 4 * cfg.optim.batchSize * perImage;
  const parameterBytes = 16 * params;
  return { params, parameterBytes, activationBytes, totalBytes: parameterBytes + activationBytes };
}
