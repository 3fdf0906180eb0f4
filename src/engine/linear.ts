// A linear layer that can carry a LoRA adapter, freeze its base and merge:
// y = x W + b + (alpha / r) (x A) B. Every q/k/v/output/fc1/fc2 of the ViT is one.
// W is stored [in, out] (x W); Hugging Face's nn.Linear stores [out, in]: an export transposes.
import * as tf from '@tensorflow/tfjs';
import { variableFrom } from './variable';
import { linear } from './ops/linear';
import { mulberry32 } from './random';

export interface LoRAAdapter {
  A: tf.Variable<tf.Rank.R2>;
  B: tf.Variable<tf.Rank.R2>;
  rank: number;
  alpha: number;
}

export class Linear {
  readonly weight: tf.Variable<tf.Rank.R2>;
  readonly bias: tf.Variable<tf.Rank.R1>;
  adapter: LoRAAdapter | null = null;
  private frozen = false;

  /**
   * @param name Hugging Face parameter path without `.weight`/`.bias`
   * @param varPrefix makes tfjs variable names unique per model instance
   */
  constructor(
    readonly name: string,
    readonly dIn: number,
    readonly dOut: number,
    init: Float32Array,
    private readonly varPrefix: string,
  ) {
    this.weight = variableFrom(tf.tensor2d(init, [dIn, dOut]), true, `${varPrefix}${name}.weight`);
    this.bias = variableFrom(tf.zeros([dOut]), true, `${varPrefix}${name}.bias`);
  }

  get baseFrozen(): boolean {
    return this.frozen;
  }

  apply(x: tf.Tensor2D): tf.Tensor2D {
    const a = this.adapter;
    return linear(x, this.weight, this.bias, a ? { A: a.A, B: a.B, scale: a.alpha / a.rank } : undefined, this.frozen);
  }

  /**
   * Attach a fresh adapter: A Kaiming-uniform (bound 1/sqrt(d_in), as PEFT), B zero,
   * so the output is unchanged at the moment it is added.
   */
  addAdapter(rank: number, alpha: number = rank, seed = 0): LoRAAdapter {
    if (this.adapter) throw new Error(`${this.name} already has a LoRA adapter`);
    if (!Number.isInteger(rank) || rank < 1) throw new Error(`LoRA rank must be a whole number >= 1 (got ${rank})`);
    const rand = mulberry32(seed);
    const bound = 1 / Math.sqrt(this.dIn);
    const a = new Float32Array(this.dIn * rank);
    for (let i = 0; i < a.length; i++) a[i] = (2 * rand() - 1) * bound;
    this.adapter = {
      A: variableFrom(tf.tensor2d(a, [this.dIn, rank]), true, `${this.varPrefix}${this.name}.lora_A`),
      B: variableFrom(tf.zeros([rank, this.dOut]), true, `${this.varPrefix}${this.name}.lora_B`),
      rank,
      alpha,
    };
    return this.adapter;
  }

  /** Stop training W and b: they leave the trainable list, so no weight gradient is computed. */
  freezeBase(): void {
    this.frozen = true;
    this.weight.trainable = false;
    this.bias.trainable = false;
  }

  /** W' = W + (alpha / r) A B; the adapter is then gone and the output unchanged. */
  merge(): void {
    const a = this.adapter;
    if (!a) return;
    const merged = tf.tidy(() => tf.add(this.weight, tf.mul(tf.matMul(a.A, a.B), a.alpha / a.rank)));
    this.weight.assign(merged as tf.Tensor2D);
    merged.dispose();
    this.removeAdapter();
  }

  removeAdapter(): void {
    this.adapter?.A.dispose();
    this.adapter?.B.dispose();
    this.adapter = null;
  }

  /** The variables an optimiser should update now. */
  trainableVariables(): tf.Variable[] {
    const base = this.frozen ? [] : [this.weight, this.bias];
    return this.adapter ? [...base, this.adapter.A, this.adapter.B] : base;
  }

  /** Every variable with its Hugging Face / PEFT-style name. */
  namedVariables(): [string, tf.Variable][] {
    const out: [string, tf.Variable][] = [
      [`${this.name}.weight`, this.weight],
      [`${this.name}.bias`, this.bias],
    ];
    if (this.adapter) out.push([`${this.name}.lora_A`, this.adapter.A], [`${this.name}.lora_B`, this.adapter.B]);
    return out;
  }

  dispose(): void {
    this.removeAdapter();
    this.weight.dispose();
    this.bias.dispose();
  }
}
