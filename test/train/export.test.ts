// Model export, checked from the files on disk: Hugging Face names, shapes and layouts;
// the merged model and the base + PEFT adapter (transformers 5 and 4 names) give our
// engine's logits through an independent forward written from the HF layout; frozen
// bases are exported as they were when they froze; the plan and the interop bundle.
import * as tf from '@tensorflow/tfjs';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkWritableDir, writeExport } from '../../src/cli/export-dir';
import { exportRun, type ExportFile } from '../../src/engine/io/export';
import { hubParameters } from '../../src/engine/io/hf-layout';
import { hfVitLogits, peftAdapters, type HostT, type VitJson } from '../helpers/hf-reference';
import { microConfig, microTrainer, readExport, type MicroRun } from '../helpers/export-run';
import { maxAbsError, useBackend } from '../helpers/tf';
import { tempDir } from '../helpers/temp';

const maxDiff = (a: number[][], b: HostT) => maxAbsError(a.flat(), b.data);

describe('export', () => {
  let run: MicroRun;
  let dir: string;
  let files: ExportFile[];
  let frozenBase: Float32Array;
  const early = ['blocks.0.query', 'blocks.0.fc2', 'blocks.1.value'];
  const late = ['blocks.1.output', 'blocks.1.fc1'];

  beforeAll(async () => {
    await useBackend('wasm');
    run = microTrainer(microConfig());
    early.forEach((id) => run.trainer.forceSwitch(id)); // switch at step 1, freeze at step 11
    await run.trainer.run(22);
    frozenBase = (await run.trainer.model.modules().get('blocks.0.query')!.weight.data()) as Float32Array;
    late.forEach((id) => run.trainer.forceSwitch(id)); // switch at step 23: still joint at step 30
    await run.trainer.run(8);
    const tensors = tf.memory().numTensors;
    files = await exportRun(run.trainer, run.changes, { naming: 'transformers5', backend: 'wasm' });
    expect(tf.memory().numTensors).toBe(tensors); // the read-back leaves nothing behind
    dir = tempDir('prelora-export-');
    await writeExport(dir, files);
  });

  afterAll(() => run.trainer.dispose());

  it('writes the merged model, the base with its adapter, the plan, the interop bundle and a README', () => {
    expect(files.map((f) => f.path).sort()).toEqual([
      'README.md', 'adapter/README.md', 'adapter/adapter_config.json', 'adapter/adapter_model.safetensors',
      'base/config.json', 'base/model.safetensors', 'base/preprocessor_config.json',
      'interop.safetensors', 'model/config.json', 'model/model.safetensors', 'model/preprocessor_config.json', 'plan.json',
    ]);
    for (const f of files) expect(existsSync(join(dir, f.path))).toBe(true);
    expect(readExport(dir).json('adapter/adapter_config.json').target_modules).toHaveLength(5);
  });

  it('uses Hugging Face names and shapes: linears [out, in], the patch embedding as the Conv2d [D, C, p, p]', async () => {
    const { tensors, metadata } = readExport(dir).tensors('model/model.safetensors');
    expect(metadata).toEqual({ format: 'pt' }); // transformers refuses a checkpoint without it
    const expected = hubParameters(run.trainer.config.model);
    expect(new Map([...tensors].map(([n, t]) => [n, t.shape]))).toEqual(new Map(expected));
    const m = run.trainer.config.model;
    expect(tensors.get('vit.embeddings.patch_embeddings.projection.weight')!.shape).toEqual([32, 3, 4, 4]);
    expect(tensors.get('vit.encoder.layer.0.intermediate.dense.weight')!.shape).toEqual([128, 32]);
    // element by element against the engine's variables (no adapter on these)
    const model = run.trainer.model;
    const patch = (await model.patchEmbed.weight.data()) as Float32Array; // [(py*p + px)*C + c, d]
    const conv = tensors.get('vit.embeddings.patch_embeddings.projection.weight')!.data; // [d, c, py, px]
    const p = m.patchSize, C = m.channels;
    for (const [d, c, py, px] of [[0, 0, 0, 0], [5, 2, 1, 3], [31, 1, 3, 0], [17, 0, 2, 2]] as const) {
      expect(conv[((d * C + c) * p + py) * p + px]).toBe(patch[((py * p + px) * C + c) * 32 + d]);
    }
    const fc1 = (await model.blocks[0]!.linears.fc1.weight.data()) as Float32Array; // [in 32, out 128]
    const hub = tensors.get('vit.encoder.layer.0.intermediate.dense.weight')!.data; // [out 128, in 32]
    for (const [o, i] of [[0, 0], [127, 31], [64, 7]] as const) expect(hub[o * 32 + i]).toBe(fc1[i * 128 + o]);
    const cfg = readExport(dir).json('model/config.json');
    expect(cfg).toMatchObject({
      architectures: ['ViTForImageClassification'], model_type: 'vit', hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 2,
      intermediate_size: 128, image_size: 16, patch_size: 4, num_channels: 3, layer_norm_eps: 1e-6, hidden_act: 'gelu', qkv_bias: true,
    });
    expect(cfg.id2label['0']).toBe(run.trainer.dataset.classes[0]);
    expect(cfg.label2id[run.trainer.dataset.classes[9]!]).toBe(9);
    expect(readExport(dir).json('model/preprocessor_config.json')).toMatchObject({
      image_processor_type: 'ViTImageProcessor', size: { height: 16, width: 16 }, rescale_factor: 1 / 255,
      image_mean: [0.5, 0.5, 0.5], image_std: [0.5, 0.5, 0.5], do_normalize: true,
    });
  });

  it('the merged model gives our logits through an independent HF forward', () => {
    const { json, tensors } = readExport(dir);
    const bundle = tensors('interop.safetensors').tensors;
    const logits = hfVitLogits(tensors('model/model.safetensors').tensors, json('model/config.json') as VitJson, bundle.get('pixel_values')!);
    expect(maxDiff(logits, bundle.get('logits')!)).toBeLessThan(1e-4);
  });

  it('the base plus the PEFT adapter gives our logits; the base alone does not', () => {
    const { json, tensors } = readExport(dir);
    const bundle = tensors('interop.safetensors').tensors;
    const base = tensors('base/model.safetensors').tensors;
    const cfg = json('base/config.json') as VitJson;
    const adapterConfig = json('adapter/adapter_config.json');
    const adapters = peftAdapters(tensors('adapter/adapter_model.safetensors').tensors, adapterConfig, 2, 'transformers5');
    expect(adapters.size).toBe(5);
    expect(maxDiff(hfVitLogits(base, cfg, bundle.get('pixel_values')!, adapters), bundle.get('logits')!)).toBeLessThan(1e-4);
    expect(maxDiff(hfVitLogits(base, cfg, bundle.get('pixel_values')!), bundle.get('logits')!)).toBeGreaterThan(1e-3);
  });

  it('names the adapter for transformers 5 by default, with ranks and alphas per module; transformers 4 on request', async () => {
    const { json, tensors } = readExport(dir);
    const cfg = json('adapter/adapter_config.json');
    const states = run.trainer.modules;
    expect(cfg).toMatchObject({ peft_type: 'LORA', lora_dropout: 0, bias: 'none', use_rslora: false, inference_mode: true });
    expect(Object.keys(cfg.rank_pattern).sort()).toEqual([
      'layers.0.attention.q_proj', 'layers.0.mlp.fc2', 'layers.1.attention.o_proj', 'layers.1.attention.v_proj', 'layers.1.mlp.fc1',
    ]);
    expect(cfg.rank_pattern['layers.1.mlp.fc1']).toBe(states.get('blocks.1.fc1')!.rank);
    expect(Object.values(cfg.alpha_pattern)).toEqual([16, 16, 16, 16, 16]);
    const adapter = tensors('adapter/adapter_model.safetensors').tensors;
    const r = states.get('blocks.0.query')!.rank!;
    expect(adapter.get('base_model.model.vit.layers.0.attention.q_proj.lora_A.weight')!.shape).toEqual([r, 32]);
    expect(adapter.get('base_model.model.vit.layers.0.mlp.fc2.lora_B.weight')!.shape).toEqual([32, states.get('blocks.0.fc2')!.rank]);
    expect(readFileSync(join(dir, 'adapter/README.md'), 'utf8')).toContain('**Module names: transformers 5.x');

    const v4 = tempDir('prelora-export4-');
    await writeExport(v4, await exportRun(run.trainer, run.changes, { naming: 'transformers4', backend: 'wasm' }));
    const four = readExport(v4);
    const cfg4 = four.json('adapter/adapter_config.json');
    expect(cfg4.target_modules).toContain('encoder.layer.0.output.dense');
    expect(cfg4.target_modules).toContain('encoder.layer.1.attention.output.dense');
    const a4 = four.tensors('adapter/adapter_model.safetensors').tensors;
    expect(a4.has('base_model.model.vit.encoder.layer.0.attention.attention.query.lora_A.weight')).toBe(true);
    const bundle = four.tensors('interop.safetensors').tensors;
    const logits = hfVitLogits(four.tensors('base/model.safetensors').tensors, four.json('base/config.json'), bundle.get('pixel_values')!,
      peftAdapters(a4, cfg4, 2, 'transformers4'));
    expect(maxDiff(logits, bundle.get('logits')!)).toBeLessThan(1e-4);
  });

  it('exports a frozen base as it was when it froze', () => {
    const base = readExport(dir).tensors('base/model.safetensors').tensors.get('vit.encoder.layer.0.attention.attention.query.weight')!;
    expect(run.changes.find((c) => c.module === 'blocks.0.query' && c.to === 'lora')!.step).toBe(11);
    for (let o = 0; o < 32; o++) for (let i = 0; i < 32; i++) expect(base.data[o * 32 + i]).toBe(frozenBase[i * 32 + o]);
  });

  it('writes the PreLoRA plan: switch and freeze steps, what decided, ranks, the schedule and LoraConfig arguments', () => {
    const plan = readExport(dir).json('plan.json');
    expect(plan).toMatchObject({ format: 'prelora-plan', version: 1, run: { steps: 30, completed: 30, mode: 'prelora', alpha: 16 } });
    expect(plan.modules).toHaveLength(12);
    const byId = Object.fromEntries(plan.modules.map((m: { module: string }) => [m.module, m]));
    expect(byId['blocks.0.query']).toMatchObject({
      hub: 'vit.encoder.layer.0.attention.attention.query', peft: { transformers5: 'layers.0.attention.q_proj' },
      phase: 'lora', switchStep: 1, frozenStep: 11, rank: 4, alpha: 16, decidedBy: 'forced', statistic: null,
    });
    expect(byId['blocks.1.fc1']).toMatchObject({ phase: 'joint', switchStep: 23, frozenStep: null, decidedBy: 'forced' });
    expect(byId['blocks.1.fc1'].windows.map((w: { step: number }) => w.step)).toEqual([20]); // forced: the window its rank came from
    expect(byId['blocks.1.fc1'].probeLoss.before).toBeCloseTo(byId['blocks.1.fc1'].probeLoss.after, 5); // B = 0 at the switch
    expect(byId['blocks.1.key']).toMatchObject({ phase: 'full', switchStep: null });
    expect(plan.schedule).toEqual([
      { step: 1, fraction: 1 / 30, modules: early },
      { step: 23, fraction: 23 / 30, modules: ['blocks.1.output', 'blocks.1.fc1'] },
    ]);
    expect(plan.peft.transformers5).toMatchObject({ target_modules: expect.arrayContaining(['layers.1.mlp.fc1']), lora_dropout: 0, bias: 'none' });
    expect(plan.peft.transformers5.rank_pattern).toEqual(readExport(dir).json('adapter/adapter_config.json').rank_pattern);
    expect(plan.peft.transformers4.rank_pattern['encoder.layer.0.attention.attention.query']).toBe(4);
  });

  it('bundles the interop inputs: pixel_values NCHW as HF takes them, raw pixels, labels, logits', () => {
    const { tensors: floats, stored, metadata } = readExport(dir).tensors('interop.safetensors');
    expect(metadata).toMatchObject({ backend: 'wasm', peft_names: 'transformers5' });
    const x = floats.get('pixel_values')!;
    expect(x.shape).toEqual([8, 3, 16, 16]);
    const images = stored.get('images')!;
    expect(images.shape).toEqual([8, 16, 16, 3]);
    // pixel (n=2, c=1, y=5, x=9) from the raw uint8 image: (v / 255 - 0.5) / 0.5
    expect(x.data[((2 * 3 + 1) * 16 + 5) * 16 + 9]).toBeCloseTo(images.bytes[((2 * 16 + 5) * 16 + 9) * 3 + 1]! / 127.5 - 1, 6);
    expect(floats.get('logits')!.shape).toEqual([8, 10]);
    expect(stored.get('labels')!.dtype).toBe('I32');
  });

  it('a run with no adapters exports the model alone and a plan without a PEFT config', async () => {
    const full = microTrainer(microConfig({ prelora: { mode: 'full' } }));
    await full.trainer.run(2);
    const out = await exportRun(full.trainer, full.changes, { naming: 'transformers5', backend: 'wasm' });
    expect(out.map((f) => f.path).sort()).toEqual([
      'README.md', 'interop.safetensors', 'model/config.json', 'model/model.safetensors', 'model/preprocessor_config.json', 'plan.json',
    ]);
    expect(JSON.parse(out.find((f) => f.path === 'plan.json')!.contents as string).peft).toBeNull();
    full.trainer.dispose();
  });

  it('checks the export folder before training: a file in the way is refused, a new folder is made', async () => {
    const file = join(dir, 'plan.json');
    expect(await checkWritableDir(file)).toBe(`${file} is a file, not a folder: give a folder to export into`);
    expect(await checkWritableDir(join(file, 'sub'))).toMatch(/^cannot write to .*plan\.json\/sub \(ENOTDIR\): choose a folder you can write to$/);
    expect(await checkWritableDir(join(dir, 'new', 'deeper'))).toBeNull();
    expect(existsSync(join(dir, 'new', 'deeper'))).toBe(true);
  });
});
