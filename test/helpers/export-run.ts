// A short seeded PreLoRA run of the micro ViT with adapters in every state at its
// end (frozen, still joint, none), alpha != rank, for the export and import tests;
// and reading an export folder back from disk.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeConfig, type RunConfig } from '../../src/engine/config';
import { syntheticDataset } from '../../src/engine/data/synthetic';
import { readSafetensors, toFloat32 } from '../../src/engine/io/safetensors';
import type { PhaseChange } from '../../src/engine/events';
import { Trainer } from '../../src/engine/trainer';
import type { ViT } from '../../src/engine/vit';
import type { HostT } from './hf-reference';

export function microConfig(overrides: Parameters<typeof makeConfig>[1] = {}): RunConfig {
  return makeConfig('micro', {
    data: { trainSize: 128, testSize: 16 },
    schedule: { steps: 30, warmupSteps: 3, evalEvery: 1000, logEvery: 5 },
    prelora: { mode: 'prelora', windowSteps: 10, jointSteps: 10, weightThreshold: 1e-9, alpha: 16, minRank: 4, maxRank: 16 },
    seed: 5,
    ...overrides,
  });
}

export const microData = (cfg: RunConfig) => syntheticDataset({
  trainSize: cfg.data.trainSize, testSize: cfg.data.testSize, imageSize: cfg.model.imageSize, channels: cfg.model.channels,
  numClasses: 10, difficulty: 0.3, seed: cfg.seed,
});

export interface MicroRun {
  trainer: Trainer;
  changes: PhaseChange[];
  losses: number[];
}

/** A trainer of `cfg` on the micro data, recording phase changes and losses; `prepare` as the Trainer's. */
export function microTrainer(cfg: RunConfig, prepare?: (model: ViT) => void): MicroRun {
  const run: MicroRun = { trainer: null as unknown as Trainer, changes: [], losses: [] };
  run.trainer = new Trainer(cfg, microData(cfg), (e) => {
    if (e.type === 'phase') run.changes.push(e.change);
    if (e.type === 'progress') run.losses.push(...e.records.map((r) => r.loss));
  }, prepare);
  return run;
}

/** Files of an export folder, read back from disk. */
export function readExport(dir: string) {
  const tensors = (path: string) => {
    const file = join(dir, path);
    const { tensors: stored, metadata } = readSafetensors(new Uint8Array(readFileSync(file)), file);
    const out = new Map<string, HostT>();
    for (const [name, t] of stored) if (t.dtype !== 'U8' && t.dtype !== 'I32') out.set(name, { shape: t.shape, data: toFloat32(t, name, file) });
    return { tensors: out, stored, metadata };
  };
  const json = (path: string) => JSON.parse(readFileSync(join(dir, path), 'utf8'));
  return { tensors, json };
}
