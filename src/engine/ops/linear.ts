// The linear op with an optional LoRA adapter: y = x W + b + s (x A) B, s = alpha / r,
// with hand-written gradients for two reasons:
// - a frozen base gets no weight gradient at all (tfjs computes every input's gradient
//   of a customGrad op, so the frozen case is its own op with W and b as constants);
// - tfjs-wasm's matMul with a transpose flag is 12-15x slower than an explicit
//   transpose followed by a plain matMul (measured: x^T dy of [2080x64]x[2080x256]
//   34 ms vs 2.3 ms), so on wasm the backward pass transposes explicitly.
import * as tf from '@tensorflow/tfjs';
import { kernelPath } from '../kernel-path';
import { gelu } from './gelu';
import { linearFused } from './webgpu/linear';

export interface AdapterTensors {
  A: tf.Tensor2D;
  B: tf.Tensor2D;
  /** alpha / rank */
  scale: number;
}

/** a^T? b^T? with the transposes done the way the current backend does fastest. */
function mm(a: tf.Tensor2D, b: tf.Tensor2D, transposeA: boolean, transposeB: boolean): tf.Tensor2D {
  if (tf.getBackend() !== 'wasm') return tf.matMul(a, b, transposeA, transposeB);
  return tf.matMul(transposeA ? tf.transpose(a) : a, transposeB ? tf.transpose(b) : b);
}

type Grads = (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[];
type Args = (tf.Tensor | tf.GradSaveFunc)[];

/** y = x W + b, gradients for x, W and b. */
const dense = tf.customGrad((...args: Args) => {
  const [x, w, b, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D, tf.GradSaveFunc];
  save([x, w]);
  const gradFunc: Grads = (dy, [sx, sw]) => {
    const g = dy as tf.Tensor2D;
    return [mm(g, sw as tf.Tensor2D, false, true), mm(sx as tf.Tensor2D, g, true, false), tf.sum(g, 0)];
  };
  return { value: tf.fused.matMul({ a: x, b: w, bias: b }), gradFunc };
}) as (x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D) => tf.Tensor2D;

/** y = x W + b with W and b frozen: only dx is computed. */
function denseFrozen(x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D): tf.Tensor2D {
  const f = tf.customGrad((...args: Args) => {
    const [input] = args as [tf.Tensor2D];
    const gradFunc: Grads = (dy) => [mm(dy as tf.Tensor2D, w, false, true)];
    return { value: tf.fused.matMul({ a: input, b: w, bias: b }), gradFunc };
  }) as (x: tf.Tensor2D) => tf.Tensor2D;
  return f(x);
}

/** s (x A) B, gradients for x, A and B. */
function loraDelta(x: tf.Tensor2D, A: tf.Tensor2D, B: tf.Tensor2D, scale: number): tf.Tensor2D {
  const f = tf.customGrad((...args: Args) => {
    const [input, a, bm, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D, tf.GradSaveFunc];
    const xa: tf.Tensor2D = tf.matMul(input, a);
    save([input, a, bm, xa]);
    const gradFunc: Grads = (dy, saved) => {
      const [sx, sa, sb, sxa] = saved as tf.Tensor2D[];
      const g: tf.Tensor2D = scale === 1 ? (dy as tf.Tensor2D) : tf.mul(dy as tf.Tensor2D, scale);
      const dxa = mm(g, sb!, false, true); // [N, r]
      return [mm(dxa, sa!, false, true), mm(sx!, dxa, true, false), mm(sxa!, g, true, false)];
    };
    const low: tf.Tensor2D = tf.matMul(xa, bm);
    return { value: scale === 1 ? low : tf.mul(low, scale), gradFunc };
  }) as (x: tf.Tensor2D, a: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor2D;
  return f(x, A, B);
}

export interface LinearOptions {
  /** exact GELU after the bias (fc1) */
  activation?: 'gelu';
  /** added to the output (the residual stream) */
  residual?: tf.Tensor2D;
  /** false when nothing needs dx (the patch embedding: images are not trained) */
  inputGrad?: boolean;
  /** the fused path's weight-gradient split (its LinearSpec.splitAmong) */
  splitAmong?: number;
}

/** act(x W + b + s (x A) B) + residual; on the fused path one kernel forward, three backward. */
export function linear(
  x: tf.Tensor2D, weight: tf.Tensor2D, bias: tf.Tensor1D, adapter?: AdapterTensors, baseFrozen = false, opts: LinearOptions = {},
): tf.Tensor2D {
  if (kernelPath() === 'fused') {
    return linearFused(x, weight, bias, adapter, baseFrozen, { gelu: opts.activation === 'gelu', residual: opts.residual, inputGrad: opts.inputGrad, splitAmong: opts.splitAmong });
  }
  const y0 = baseFrozen ? denseFrozen(x, weight, bias) : dense(x, weight, bias);
  const y1: tf.Tensor2D = adapter ? tf.add(y0, loraDelta(x, adapter.A, adapter.B, adapter.scale)) : y0;
  const y = opts.activation === 'gelu' ? gelu(y1) : y1;
  return opts.residual ? tf.add(opts.residual, y) : y;
}

/** The same function with tfjs's own gradients: the reference the op is tested against. */
export function linearComposite(x: tf.Tensor2D, weight: tf.Tensor2D, bias: tf.Tensor1D, adapter?: AdapterTensors): tf.Tensor2D {
  const y: tf.Tensor2D = tf.add(tf.matMul(x, weight), bias);
  if (!adapter) return y;
  return tf.add(y, tf.mul(tf.matMul(tf.matMul(x, adapter.A), adapter.B), adapter.scale));
}
