// Exact resume on the compiled step (WebGPU through Dawn): the micro run of the parity
// scripts (four modules switched by hand at step 12, frozen ten steps later) straight
// through (saving mid-LoRA on the way), against that save (bases frozen, a window half done),
// written to checkpoint bytes, read back, restored into a fresh trainer and continued.
// Run as a script in a child process (Dawn's driver is chosen by environment):
//   node --import tsx compiled-resume-run.ts SAVE_AT MORE
// prints one JSON line with both runs' losses and windows after SAVE_AT, the phases at
// the save, the recordings the resumed trainer made and the tensors left at the end.
import * as tf from '@tensorflow/tfjs';
import { initNodeBackend } from '../../src/engine/backend-node';
import { decodeCheckpoint, encodeCheckpoint } from '../../src/engine/checkpoint/format';
import type { EngineEvent } from '../../src/engine/events';
import { stepPath } from '../../src/engine/kernel-path';
import { Trainer } from '../../src/engine/trainer';
import { reply } from './dawn';
import { microRun, SWITCHED } from './path-parity-run';

export interface ResumeRun {
  straight: { losses: number[]; windows: number[] };
  resumed: { losses: number[]; windows: number[] };
  /** each module's phase in the checkpoint, and the steps of its window in progress */
  savedPhases: string[];
  windowSteps: number;
  path: string;
  recordings: number;
  tensorsLeft: number;
}

/** The losses after `from`, and each window's mean loss and gradient norms, flattened. */
function collect(from: number) {
  const losses: number[] = [];
  const windows: number[] = [];
  const listen = (e: EngineEvent) => {
    if (e.type === 'progress') losses.push(...e.records.filter((r) => r.step > from).map((r) => r.loss));
    if (e.type === 'window' && e.window.step > from) windows.push(e.window.loss, ...Object.values(e.window.modules).map((m) => m.gradNorm));
  };
  return { losses, windows, listen };
}

async function toSave(t: Trainer, steps: number): Promise<void> {
  await t.run(Math.min(12, steps));
  if (steps <= 12) return;
  for (const m of SWITCHED) t.forceSwitch(m);
  await t.run(steps - 12);
}

if (process.argv[1]?.endsWith('compiled-resume-run.ts')) {
  const info = await initNodeBackend('webgpu');
  if (info.name !== 'webgpu') throw new Error(`wanted webgpu, got ${info.name}`);
  const saveAt = Number(process.argv[2] ?? 25);
  const more = Number(process.argv[3] ?? 20);
  const { cfg, data } = microRun(saveAt + more);
  // a checkpoint's config is validated: a threshold of 1e-9 (never met) stands for the parity runs' 0
  cfg.prelora.weightThreshold = 1e-9;
  const before = tf.memory().numTensors;

  // the straight run saves at the same step and goes on: a save leaves the run it reads unchanged
  const straightOut = collect(saveAt);
  const straight = new Trainer(cfg, data, straightOut.listen);
  await toSave(straight, saveAt);
  const saved = await straight.exportState();
  await straight.run(more);
  straight.dispose();

  const bytes = encodeCheckpoint({ ...saved, log: { events: [], policyChanges: [] } });
  const checkpoint = decodeCheckpoint(bytes, 'run.ckpt');
  const resumedOut = collect(saveAt);
  const resumed = new Trainer(checkpoint.config, data, resumedOut.listen);
  resumed.importState(checkpoint);
  await resumed.run(more);
  const recordings = (resumed as unknown as { compiled: { recordings: number } | null }).compiled?.recordings ?? 0;
  resumed.dispose();

  reply({
    straight: { losses: straightOut.losses, windows: straightOut.windows },
    resumed: { losses: resumedOut.losses, windows: resumedOut.windows },
    savedPhases: checkpoint.state.controller.modules.map((m) => m.phase),
    windowSteps: checkpoint.state.monitor.steps,
    path: stepPath(),
    recordings,
    tensorsLeft: tf.memory().numTensors - before,
  } satisfies ResumeRun);
}
