// The model's variables (and, optionally, its logits on a few inputs) read back to the
// host in ONE stacked `await data()`: what every export is built from, as plain data.
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../config';
import type { ViT } from '../vit';
import type { HostTensor } from './hf-layout';

export interface AdapterSnapshot {
  /** module id `blocks.<l>.<family>` */
  id: string;
  rank: number;
  alpha: number;
  /** the base no longer trains (phase `lora`); false while base and adapter train together */
  frozen: boolean;
  /** [in, r] */
  A: HostTensor;
  /** [r, out] */
  B: HostTensor;
}

export interface ModelSnapshot {
  config: ModelConfig;
  /** every parameter but the adapters, in our layout, by its Hugging Face name, in the model's order */
  params: [string, HostTensor][];
  /** in module order */
  adapters: AdapterSnapshot[];
  /** the model's logits on the inputs given, as it runs now (adapters applied) */
  logits: HostTensor | null;
}

/** Read the model back once. `images` [N, H, W, C], normalised, gives `logits` [N, classes]. */
export async function snapshotModel(model: ViT, images?: tf.Tensor4D): Promise<ModelSnapshot> {
  const params = model.namedVariables().filter(([name]) => !/\.lora_[AB]$/.test(name));
  const withAdapter = [...model.modules()].filter(([, lin]) => lin.adapter);
  const logits = images ? tf.tidy(() => model.forward(images)) : null;
  const tensors: tf.Tensor[] = [
    ...params.map(([, v]) => v),
    ...withAdapter.flatMap(([, lin]) => [lin.adapter!.A, lin.adapter!.B]),
    ...(logits ? [logits] : []),
  ];
  const flat = tf.tidy(() => tf.concat(tensors.map((t) => tf.reshape(t, [-1]))));
  const values = (await flat.data()) as Float32Array;
  flat.dispose();
  let at = 0;
  const host = (t: tf.Tensor): HostTensor => {
    const data = values.slice(at, at + t.size);
    at += t.size;
    return { shape: [...t.shape], data };
  };
  const snapshot: ModelSnapshot = {
    config: model.config,
    params: params.map(([name, v]) => [name, host(v)]),
    adapters: withAdapter.map(([id, lin]) => {
      const a = lin.adapter!;
      return { id, rank: a.rank, alpha: a.alpha, frozen: lin.baseFrozen, A: host(a.A), B: host(a.B) };
    }),
    logits: null,
  };
  if (logits) {
    snapshot.logits = host(logits);
    logits.dispose();
  }
  return snapshot;
}
