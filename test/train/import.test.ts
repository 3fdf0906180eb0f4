// Import: a model.safetensors exported before loads into a fresh model bit for bit and
// trains on exactly as the model it came from; a file for another config is refused
// naming the first mismatching tensor (name, expected shape, got), before anything is
// assigned; the config.json beside it is compared field by field; checkpoints that
// transformers itself wrote load and give PyTorch's logits.
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { PRESETS } from '../../src/engine/config';
import { ModelFileError } from '../../src/engine/io/errors';
import { exportRun } from '../../src/engine/io/export';
import { hubTensors } from '../../src/engine/io/export-model';
import { compareVitConfig, vitConfigJson } from '../../src/engine/io/hf-config';
import { hubParameters, hubShape } from '../../src/engine/io/hf-layout';
import { checkModelFile, loadIntoModel } from '../../src/engine/io/import';
import { readInitWeights } from '../../src/engine/io/init-weights';
import { snapshotModel } from '../../src/engine/io/snapshot';
import { readSafetensors, toFloat32, writeSafetensors } from '../../src/engine/io/safetensors';
import { ViT } from '../../src/engine/vit';
import { microConfig, microTrainer } from '../helpers/export-run';
import { maxAbsError, useBackend } from '../helpers/tf';

const FILE = 'model.safetensors';

async function values(model: ViT): Promise<Float32Array[]> {
  return Promise.all(model.namedVariables().map(async ([, v]) => (await v.data()) as Float32Array));
}

describe('import', () => {
  beforeAll(() => useBackend('wasm'));

  it('knows every tensor of a ViTForImageClassification: the engine\'s parameters in the Hub\'s shapes', () => {
    for (const m of [PRESETS.micro.model, PRESETS.nano.model, { ...PRESETS.nano.model, channels: 1, imageSize: 28, numClasses: 7 }]) {
      const vit = new ViT(m, 1);
      expect(hubParameters(m)).toEqual(vit.namedVariables().map(([name, v]) => [name, hubShape(name, v.shape, m)]));
      vit.dispose();
    }
  });

  it('round-trips an export bit for bit, and training from it gives the same losses as training on from the original', async () => {
    const cfg = microConfig({ prelora: { mode: 'full' } });
    const first = microTrainer(cfg);
    await first.trainer.run(12);
    const file = (await exportRun(first.trainer, first.changes, { naming: 'transformers5', backend: 'wasm' }))
      .find((f) => f.path === 'model/model.safetensors')!.contents as Uint8Array;
    const { tensors } = readSafetensors(file, FILE);
    const original = await values(first.trainer.model);

    const imported = microTrainer(cfg, (model) => loadIntoModel(tensors, model, FILE));
    expect(await values(imported.trainer.model)).toEqual(original);
    // the same start by a direct copy of the variables, no file in between
    const sources = first.trainer.model.namedVariables();
    const copied = microTrainer(cfg, (model) => model.namedVariables().forEach(([, v], i) => v.assign(sources[i]![1])));
    const fresh = microTrainer(cfg);
    for (const r of [imported, copied, fresh]) await r.trainer.run(10);
    expect(imported.losses).toHaveLength(10);
    expect(imported.losses).toEqual(copied.losses);
    expect(imported.losses[0]).toBeLessThan(fresh.losses[0]! - 0.01); // it did start from the trained weights
    for (const r of [first, imported, copied, fresh]) r.trainer.dispose();
  });

  it('loads into a model with static LoRA adapters: the bases take the file, the adapters stay', async () => {
    const source = new ViT(PRESETS.micro.model, 9);
    const file = await hubFile(source);
    const run = microTrainer(microConfig({ prelora: { mode: 'lora', rank: 4 } }), (model) => loadIntoModel(readSafetensors(file, FILE).tensors, model, FILE));
    const q = run.trainer.model.modules().get('blocks.0.query')!;
    expect(q.adapter?.rank).toBe(4);
    expect(Array.from(await q.weight.data())).toEqual(Array.from(await source.blocks[0]!.linears.query.weight.data()));
    run.trainer.dispose();
    source.dispose();
  });

  it('refuses a file for another config naming the first mismatching tensor, and assigns nothing', async () => {
    const nano = new ViT({ ...PRESETS.nano.model, numClasses: 10 }, 1);
    const nanoFile = await hubFile(nano);
    const micro = new ViT(PRESETS.micro.model, 1);
    const before = await values(micro);
    expect(() => loadIntoModel(readSafetensors(nanoFile, FILE).tensors, micro, FILE)).toThrow(new ModelFileError(
      `${FILE}: tensor "vit.embeddings.cls_token": expected shape [1, 1, 32] for this run's model, got [1, 1, 64]: ` +
      'train with the model config the file was made with (see its config.json), or give a file made for this one'));

    // same config but 3 classes: only the classifier differs, and it comes last
    const three = new ViT({ ...PRESETS.micro.model, numClasses: 3 }, 1);
    const threeFile = await hubFile(three);
    expect(() => loadIntoModel(readSafetensors(threeFile, FILE).tensors, micro, FILE))
      .toThrow(/tensor "classifier.weight": expected shape \[10, 32\] for this run's model, got \[3, 32\]/);
    expect(await values(micro)).toEqual(before); // nothing assigned before the check failed

    const entries = hubParameters(micro.config).map(([name, shape]) => ({ name, dtype: 'F32' as const, shape }));
    expect(() => checkModelFile(entries.filter((e) => e.name !== 'vit.encoder.layer.1.output.dense.bias'), micro.config, FILE))
      .toThrow(/tensor "vit.encoder.layer.1.output.dense.bias" \(expected shape \[32\]\) is missing; the file has 39 tensors \("vit.embeddings.cls_token", /);
    expect(() => checkModelFile(entries.map((e) => (e.name === 'vit.layernorm.bias' ? { ...e, dtype: 'I64' as const } : e)), micro.config, FILE))
      .toThrow(`${FILE}: tensor "vit.layernorm.bias" is I64: a weight must be F32, F16, BF16 or F64`);
    expect(() => checkModelFile([...entries, { name: 'base_model.model.vit.layers.0.attention.q_proj.lora_A.weight', dtype: 'F32', shape: [4, 32] }], micro.config, FILE))
      .toThrow(/is a LoRA adapter's: import a whole model's model.safetensors/);
    // a Hub checkpoint's extra tensors are reported, not refused
    expect(checkModelFile([...entries, { name: 'vit.pooler.dense.weight', dtype: 'F16', shape: [32, 32] }], micro.config, FILE).ignored)
      .toBe('vit.pooler.dense.weight');
    [nano, micro, three].forEach((v) => v.dispose());
  });

  it('escapes the file\'s and its tensors\' names in its messages, and cuts a long one short', () => {
    // they came out raw: a terminal cleared by a file's name, a tensor's shown backwards
    expect(() => readInitWeights([{ name: 'a\x1b[2J.zip', bytes: new Uint8Array(4) }]))
      .toThrow(new ModelFileError('a\\x1b[2J.zip is an archive: unzip it and give its model/model.safetensors (and model/config.json beside it)'));
    expect(() => checkModelFile([{ name: '\x1b[31mvit.x\u202e', dtype: 'F32', shape: [1] }], PRESETS.micro.model, 'm\u202e.safetensors'))
      .toThrow(new ModelFileError('m\\u202e.safetensors: tensor "vit.embeddings.cls_token" (expected shape [1, 1, 32]) is missing; the file has 1 tensors ' +
        '("\\x1b[31mvit.x\\u202e", ...): give a ViTForImageClassification checkpoint with the Hub\'s names'));
    const long = () => checkModelFile([{ name: 'x'.repeat(100_000), dtype: 'F32', shape: [1] }], PRESETS.micro.model, FILE);
    expect(long).toThrow(/^model\.safetensors: tensor "vit\.embeddings\.cls_token" .* give a ViTForImageClassification checkpoint with the Hub's names$/);
    expect(long).toThrow(/^.{0,1100}$/s); // not the 100,000 characters
    // many files given: a few named, not every one
    const many = Array.from({ length: 5000 }, (_, i) => ({ name: `${i}.bin`, bytes: new Uint8Array(1) }));
    expect(() => readInitWeights(many)).toThrow(new ModelFileError('0.bin, 1.bin, 2.bin and 4997 more: give one model.safetensors, and the config.json beside it if you have it'));
  });

  it('imports checkpoints that transformers 5.17 wrote (float32 and bfloat16): our forward gives PyTorch\'s logits', async () => {
    const dir = 'test/fixtures/hf-vit-micro'; // made by test/interop/make_fixture.py
    const m = PRESETS.micro.model;
    expect(compareVitConfig(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')), m)).toEqual([]);
    const ref = readSafetensors(new Uint8Array(readFileSync(join(dir, 'logits.safetensors'))), 'logits.safetensors').tensors;
    const floats = (name: string) => toFloat32(ref.get(name)!, name, 'logits.safetensors');
    const [N, C, H, W] = ref.get('pixel_values')!.shape as [number, number, number, number];
    const nchw = floats('pixel_values');
    const nhwc = new Float32Array(nchw.length);
    for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
      nhwc[((n * H + y) * W + x) * C + c] = nchw[((n * C + c) * H + y) * W + x]!;
    }
    const images = tf.tensor4d(nhwc, [N, H, W, C]);
    for (const [file, expected] of [['model-f32.safetensors', 'logits'], ['model-bf16.safetensors', 'logits_bf16_weights']] as const) {
      const vit = new ViT(m, 1);
      const tensors = tf.memory().numTensors;
      loadIntoModel(readSafetensors(new Uint8Array(readFileSync(join(dir, file))), file).tensors, vit, file);
      expect(tf.memory().numTensors).toBe(tensors); // assigned in place, nothing left behind
      const logits = tf.tidy(() => vit.forward(images));
      expect(maxAbsError(await logits.data(), floats(expected))).toBeLessThan(1e-4);
      logits.dispose();
      vit.dispose();
    }
    images.dispose();
  });

  it('compares a config.json with the run\'s model: heads and epsilon do not show in shapes', () => {
    const m = PRESETS.micro.model;
    expect(compareVitConfig(vitConfigJson(m, Array.from({ length: 10 }, (_, i) => `c${i}`)), m)).toEqual([]);
    const hub = { ...vitConfigJson(m, ['a', 'b']), num_attention_heads: 4, layer_norm_eps: 1e-12, hidden_act: 'gelu_new' };
    expect(compareVitConfig(hub, m)).toEqual([
      'num_attention_heads is 4 but this run has 2 (model.heads)',
      'layer_norm_eps is 1e-12 but this run has 0.000001 (model.layerNormEps)',
      'hidden_act is "gelu_new" but this run has "gelu" (the GELU)',
      'it has 2 labels but the data has 10 classes (model.numClasses follows the data)',
    ]);
    expect(compareVitConfig([], m)).toEqual(['it is not a JSON object']);
    // a value nested 200,000 deep (JSON.parse reads it) is named by its kind, not written out
    const deep = JSON.parse(`{"hidden_size": ${'['.repeat(200_000)}${']'.repeat(200_000)}, "model_type": "${'x'.repeat(100)}"}`);
    expect(compareVitConfig({ ...vitConfigJson(m, Array.from({ length: 10 }, (_, i) => `c${i}`)), ...deep }, m)).toEqual([
      `model_type is "${'x'.repeat(40)}...", not "vit"`,
      `hidden_size is an array of 1 but this run has ${m.width} (model.width)`,
    ]);
  });
});

/** A model's parameters as a Hub checkpoint, through the export's own path. */
async function hubFile(model: ViT): Promise<Uint8Array> {
  return writeSafetensors(hubTensors(await snapshotModel(model), false), { format: 'pt' });
}
