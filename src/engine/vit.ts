// The Vision Transformer in tfjs core ops: patch embedding, class token, learned
// positions, pre-LayerNorm blocks (separate query/key/value/output, MLP fc1 -> GELU ->
// fc2), final LayerNorm on the class token, classifier. Parameter names are those of
// Hugging Face `ViTForImageClassification`, so an export would be a mapping, not a rewrite:
// - linear weights are [in, out] here and [out, in] there (transpose);
// - the patch projection is a Conv2d [D, C, p, p] there; here a linear over patches
//   flattened in (row, column, channel) order: W[(py*p + px)*C + c, d] = conv[d, c, py, px].
import * as tf from '@tensorflow/tfjs';
import { variableFrom } from './variable';
import type { ModelConfig } from './config';
import { Linear } from './linear';
import { attention } from './ops/attention';
import { layerNorm } from './ops/layernorm';
import { moduleId } from './policy';
import { deriveSeed, mulberry32, truncatedNormal } from './random';
import { modelDims, type ModelDims } from './size';

import { FAMILIES, HUB_PATH, MODULE_PATH, type Family } from './vit-families';

/**
 * The query's, key's and value's options: they read one input, so the compiled step runs
 * the weight gradients of those whose bases train without an adapter in one launch, each
 * split as one of that many (LinearSpec.splitAmong); op by op each is split alike, so the
 * two paths sum the same partials.
 */
export function qkvOptions(l: Pick<Record<Family, Linear>, 'query' | 'key' | 'value'>): { splitAmong: number } {
  return { splitAmong: [l.query, l.key, l.value].filter((x) => !x.baseFrozen && !x.adapter).length };
}

export { FAMILIES, type Family };

export interface Norm {
  name: string;
  gamma: tf.Variable<tf.Rank.R1>;
  beta: tf.Variable<tf.Rank.R1>;
}

export interface Block {
  layernormBefore: Norm;
  layernormAfter: Norm;
  linears: Record<Family, Linear>;
}

let instances = 0;

export class ViT {
  readonly dims: ModelDims;
  readonly patchEmbed: Linear;
  readonly clsToken: tf.Variable<tf.Rank.R3>;
  readonly positions: tf.Variable<tf.Rank.R3>;
  readonly blocks: Block[] = [];
  readonly finalNorm: Norm;
  readonly classifier: Linear;
  private readonly prefix = `vit${instances++}/`;

  constructor(readonly config: ModelConfig, seed: number) {
    const d = (this.dims = modelDims(config));
    const D = d.width;
    // Truncated normal (timm's trunc_normal_) with HF's initializer_range as std.
    // One generator stream per parameter, so adding a parameter later does not
    // change how the others start.
    const init = (name: string, size: number) => truncatedNormal(size, config.initStd, mulberry32(deriveSeed(seed, name)));
    const lin = (name: string, dIn: number, dOut: number) =>
      new Linear(name, dIn, dOut, init(name, dIn * dOut), this.prefix);
    const norm = (name: string): Norm => ({
      name,
      gamma: variableFrom(tf.ones([D]), true, `${this.prefix}${name}.weight`),
      beta: variableFrom(tf.zeros([D]), true, `${this.prefix}${name}.bias`),
    });

    this.patchEmbed = lin(MODULE_PATH.patchEmbed, d.patchDim, D);
    this.clsToken = variableFrom(
      tf.tensor3d(init('vit.embeddings.cls_token', D), [1, 1, D]), true, `${this.prefix}vit.embeddings.cls_token`);
    this.positions = variableFrom(
      tf.tensor3d(init('vit.embeddings.position_embeddings', d.tokens * D), [1, d.tokens, D]),
      true, `${this.prefix}vit.embeddings.position_embeddings`);
    for (let l = 0; l < config.depth; l++) {
      const at = MODULE_PATH.block(l);
      const dimsOf: Record<Family, [number, number]> = {
        query: [D, D], key: [D, D], value: [D, D], output: [D, D], fc1: [D, d.mlpWidth], fc2: [d.mlpWidth, D],
      };
      const linears = {} as Record<Family, Linear>;
      for (const f of FAMILIES) linears[f] = lin(`${at}.${HUB_PATH[f]}`, ...dimsOf[f]);
      this.blocks.push({ layernormBefore: norm(`${at}.${MODULE_PATH.layernormBefore}`), layernormAfter: norm(`${at}.${MODULE_PATH.layernormAfter}`), linears });
    }
    this.finalNorm = norm(MODULE_PATH.finalNorm);
    this.classifier = lin(MODULE_PATH.classifier, D, config.numClasses);
  }

  /** The PreLoRA modules by id `blocks.<l>.<family>`, in layer then family order. */
  modules(): Map<string, Linear> {
    const out = new Map<string, Linear>();
    this.blocks.forEach((b, l) => FAMILIES.forEach((f) => out.set(moduleId(l, f), b.linears[f])));
    return out;
  }

  /** Every variable by its Hugging Face name (plus `.lora_A`/`.lora_B` for adapters). */
  namedVariables(): [string, tf.Variable][] {
    const norm = (n: Norm): [string, tf.Variable][] => [[`${n.name}.weight`, n.gamma], [`${n.name}.bias`, n.beta]];
    const out: [string, tf.Variable][] = [
      ['vit.embeddings.cls_token', this.clsToken],
      ['vit.embeddings.position_embeddings', this.positions],
      ...this.patchEmbed.namedVariables(),
    ];
    for (const b of this.blocks) {
      out.push(...norm(b.layernormBefore));
      for (const f of FAMILIES) out.push(...b.linears[f].namedVariables());
      out.push(...norm(b.layernormAfter));
    }
    out.push(...norm(this.finalNorm), ...this.classifier.namedVariables());
    return out;
  }

  /** What an optimiser updates now: frozen bases are left out. */
  trainableVariables(): tf.Variable[] {
    const frozen = new Set<tf.Variable>();
    for (const lin of this.modules().values()) {
      if (lin.baseFrozen) frozen.add(lin.weight).add(lin.bias);
    }
    return this.namedVariables().map(([, v]) => v).filter((v) => !frozen.has(v));
  }

  /** images [B, H, W, C] (normalised floats) -> logits [B, classes] */
  forward(images: tf.Tensor4D): tf.Tensor2D {
    const { imageSize: S, patchSize: p, channels: C, heads, layerNormEps: eps } = this.config;
    const { patches: P, tokens: T, patchDim, width: D } = this.dims;
    const B = images.shape[0];
    const G = S / p;
    // patchify with one rank-4 transpose: [B*G, p, G, p*C] -> [B*G, G, p, p*C]
    const patches = tf.reshape(
      tf.transpose(tf.reshape(images, [B * G, p, G, p * C]), [0, 2, 1, 3]), [B * P, patchDim]) as tf.Tensor2D;
    const tokens = tf.reshape(this.patchEmbed.apply(patches, { inputGrad: false }), [B, P, D]);
    // Class token by padding, not tf.tile: tile's backward costs a slice+add per batch
    // row. Row 0 of the padded tokens is zero; cls + positions fill it by broadcasting.
    const clsAndPositions = tf.add(this.positions, tf.pad(this.clsToken, [[0, 0], [0, P], [0, 0]]));
    let h = tf.reshape(tf.add(tf.pad(tokens, [[0, 0], [1, 0], [0, 0]]), clsAndPositions), [B * T, D]) as tf.Tensor2D;
    const shape = { batch: B, tokens: T, heads };
    for (const { layernormBefore: n1, layernormAfter: n2, linears: m } of this.blocks) {
      // the residual adds and fc1's GELU ride in the linears' epilogues (fused path)
      const a = layerNorm(h, n1.gamma, n1.beta, eps);
      const qkv = qkvOptions(m);
      h = m.output.apply(attention(m.query.apply(a, qkv), m.key.apply(a, qkv), m.value.apply(a, qkv), shape), { residual: h });
      h = m.fc2.apply(m.fc1.apply(layerNorm(h, n2.gamma, n2.beta, eps), { activation: 'gelu' }), { residual: h });
    }
    // LayerNorm is per token, so normalising only the class token gives HF's logits.
    const cls = tf.reshape(tf.slice(tf.reshape(h, [B, T, D]), [0, 0, 0], [B, 1, D]), [B, D]) as tf.Tensor2D;
    return this.classifier.apply(layerNorm(cls, this.finalNorm.gamma, this.finalNorm.beta, eps));
  }

  dispose(): void {
    for (const [, v] of this.namedVariables()) v.dispose();
  }
}
