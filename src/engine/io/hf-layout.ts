// Tensor layouts between our engine and Hugging Face's ViT (see the top of vit.ts):
// a linear weight is [in, out] here and [out, in] there; the patch projection is a
// linear over patches flattened in (row, column, channel) order here,
// W[(py*p + px)*C + c, d], and a Conv2d weight conv[d, c, py, px] there. Everything
// else (norms, biases, class token, positions) has the same shape in both. LoRA
// merges on the host in float64: W' = W + (alpha / r) A B.
import type { ModelConfig } from '../config';
import { modelDims } from '../size';
import { FAMILIES, HUB_PATH, MODULE_PATH } from '../vit-families';

/** A tensor read back to the host, row-major. */
export interface HostTensor {
  shape: number[];
  data: Float32Array;
}

export const PATCH_WEIGHT = `${MODULE_PATH.patchEmbed}.weight`;

const isLinearWeight = (name: string, shape: number[]) => name.endsWith('.weight') && shape.length === 2;

export function transpose({ shape: [rows, cols], data }: HostTensor): HostTensor {
  const r = rows!, c = cols!;
  const out = new Float32Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = data[i * c + j]!;
  return { shape: [c, r], data: out };
}

/** The Hub's shape of one of our parameters. */
export function hubShape(name: string, shape: number[], m: Pick<ModelConfig, 'patchSize' | 'channels'>): number[] {
  if (name === PATCH_WEIGHT) return [shape[1]!, m.channels, m.patchSize, m.patchSize];
  return isLinearWeight(name, shape) ? [shape[1]!, shape[0]!] : shape;
}

/** Every parameter a ViTForImageClassification of this config has: Hub name and Hub shape, in the model's order. */
export function hubParameters(m: ModelConfig): [string, number[]][] {
  const { width: D, tokens: T, patchDim, mlpWidth } = modelDims(m);
  const ours: [string, number[]][] = [
    ['vit.embeddings.cls_token', [1, 1, D]],
    ['vit.embeddings.position_embeddings', [1, T, D]],
    [PATCH_WEIGHT, [patchDim, D]],
    [`${MODULE_PATH.patchEmbed}.bias`, [D]],
  ];
  const dims = { query: [D, D], key: [D, D], value: [D, D], output: [D, D], fc1: [D, mlpWidth], fc2: [mlpWidth, D] };
  const norm = (n: string): [string, number[]][] => [[`${n}.weight`, [D]], [`${n}.bias`, [D]]];
  for (let l = 0; l < m.depth; l++) {
    const at = MODULE_PATH.block(l);
    ours.push(...norm(`${at}.${MODULE_PATH.layernormBefore}`));
    for (const f of FAMILIES) ours.push([`${at}.${HUB_PATH[f]}.weight`, dims[f]], [`${at}.${HUB_PATH[f]}.bias`, [dims[f][1]!]]);
    ours.push(...norm(`${at}.${MODULE_PATH.layernormAfter}`));
  }
  const head = MODULE_PATH.classifier;
  ours.push(...norm(MODULE_PATH.finalNorm), [`${head}.weight`, [D, m.numClasses]], [`${head}.bias`, [m.numClasses]]);
  return ours.map(([name, shape]) => [name, hubShape(name, shape, m)]);
}

/** Our layout -> the Hub's. */
export function toHub(name: string, t: HostTensor, m: Pick<ModelConfig, 'patchSize' | 'channels'>): HostTensor {
  if (name === PATCH_WEIGHT) {
    const p = m.patchSize, C = m.channels, D = t.shape[1]!;
    const out = new Float32Array(t.data.length);
    for (let d = 0; d < D; d++) for (let c = 0; c < C; c++) for (let py = 0; py < p; py++) for (let px = 0; px < p; px++) {
      out[((d * C + c) * p + py) * p + px] = t.data[((py * p + px) * C + c) * D + d]!;
    }
    return { shape: [D, C, p, p], data: out };
  }
  return isLinearWeight(name, t.shape) ? transpose(t) : t;
}

/** The Hub's layout -> ours (the shape has been checked against `hubShape` first). */
export function fromHub(name: string, t: HostTensor): HostTensor {
  if (name === PATCH_WEIGHT) {
    const [D, C, p] = t.shape as [number, number, number];
    const out = new Float32Array(t.data.length);
    for (let d = 0; d < D; d++) for (let c = 0; c < C; c++) for (let py = 0; py < p; py++) for (let px = 0; px < p; px++) {
      out[((py * p + px) * C + c) * D + d] = t.data[((d * C + c) * p + py) * p + px]!;
    }
    return { shape: [p * p * C, D], data: out };
  }
  return isLinearWeight(name, t.shape) ? transpose(t) : t;
}

/** W + scale * A B for W [in, out], A [in, r], B [r, out], summed in float64. */
export function mergeLoRA(W: HostTensor, A: HostTensor, B: HostTensor, scale: number): HostTensor {
  const [dIn, dOut] = W.shape as [number, number];
  const r = A.shape[1]!;
  const out = new Float32Array(W.data.length);
  const row = new Float64Array(dOut);
  for (let i = 0; i < dIn; i++) {
    row.fill(0);
    for (let k = 0; k < r; k++) {
      const a = A.data[i * r + k]!;
      if (a === 0) continue;
      for (let j = 0; j < dOut; j++) row[j]! += a * B.data[k * dOut + j]!;
    }
    for (let j = 0; j < dOut; j++) out[i * dOut + j] = W.data[i * dOut + j]! + scale * row[j]!;
  }
  return { shape: [dIn, dOut], data: out };
}
