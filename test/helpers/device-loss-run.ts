// A GPU device lost mid-run, for real (Dawn: `device.destroy()`), under the worker's
// logic with saved runs (fake-indexeddb): a micro run on the compiled step saves every
// 10 steps; at step 15 its device is destroyed. The engine reports the loss, the worker
// makes a new device and names the checkpoint to resume from; the run is restored from
// it on the new device and trained to the end. A paused run whose device goes under its
// pause's save, or before a switch by hand, and a finished run whose device goes under its
// last save or before its export, are let go the same way; the next run trains. Then the Trainer API, which the worker
// no longer reaches once it lets a lost run go: a trainer on the new device trains a few
// steps, that device is destroyed, and the trainer is asked for a checkpoint and an export.
// Run as a script in a child process (Dawn's driver is chosen by environment):
//   node --import tsx device-loss-run.ts
// prints one JSON line with what the worker said and both lives' losses by step.
import 'fake-indexeddb/auto';
import * as tf from '@tensorflow/tfjs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { initNodeBackend } from '../../src/engine/backend-node';
import { makeConfig } from '../../src/engine/config';
import type { DeviceLoss } from '../../src/engine/events';
import { exportRun } from '../../src/engine/io/export';
import { TrainingHost } from '../../src/worker/host';
import { microConfig, microTrainer } from './export-run';
import type { WorkerEvent } from '../../src/worker/protocol';
import { SavedRuns } from '../../src/worker/saved-runs';
import { reply } from './dawn';

export interface DeviceLossRun {
  loss: DeviceLoss | null;
  /** the worker's message to the page, and the run's state after the loss */
  message: string;
  failed: boolean;
  /** the backend's name after the loss, and whether its device is a new one */
  backend: string;
  newDevice: boolean;
  /** the step of the checkpoint the restored run went on from, and where it ended */
  resumedAt: number;
  endedAt: number;
  /** losses by step: before the loss (run a), after the restore (run b) */
  before: [number, number][];
  after: [number, number][];
  tensorsLeft: number;
  /** tensors the lost run left behind once the worker let it go */
  tensorsAfterLoss: number;
  /** a paused run whose device is lost under its pause's save, or before a switch by hand or an export: what the worker said, the run's states, a new device */
  pausedLoss: Record<'saving' | 'switching' | 'exporting', { message: string; states: string[]; newDevice: boolean }>;
  /**
   * a finished run whose device is lost under its last save: what the worker said, the
   * run's states, a new device, the run it holds after, and every error the worker said
   * from its start until the next run's (an export asked for as its end was posted waited
   * behind that save)
   */
  finishedLoss: { message: string; states: string[]; newDevice: boolean; held: string | null; errors: string[] };
  /** a finished run whose device is lost before its model is exported: the same */
  exportLoss: Omit<DeviceLossRun['finishedLoss'], 'errors'>;
  /** the step the run after them ended at */
  nextEndedAt: number;
  /** a trainer whose device was lost: the loss it reports, and what a checkpoint and an export said */
  trainer: { loss: DeviceLoss | null; checkpoint: string; export: string };
}

const STEPS = 30;
const LOSE_AT = 15;

const device = () => (tf.backend() as unknown as { device: GPUDevice }).device;

/**
 * A trainer of the micro run on the current device, 7 steps (a read-back every 5), then
 * the device destroyed and steps taken until the trainer finds it lost; then asked for
 * its state (a checkpoint) and exported (exportRun, as the CLI does): each refusal's
 * message, or 'given'.
 */
async function lostTrainer(): Promise<DeviceLossRun['trainer']> {
  const t = microTrainer(microConfig()).trainer;
  for (let i = 0; i < 7; i++) await t.step();
  device().destroy();
  for (let i = 0; i < 100 && !t.deviceLoss; i++) {
    await new Promise((r) => setTimeout(r, 20));
    await t.step();
  }
  const said = (p: Promise<unknown>) => p.then(() => 'given', (e: Error) => e.message);
  const checkpoint = await said(t.exportState());
  const out = { loss: t.deviceLoss, checkpoint, export: await said(exportRun(t, [], { naming: 'transformers5', backend: 'webgpu' })) };
  t.dispose();
  return out;
}

if (process.argv[1]?.endsWith('device-loss-run.ts')) {
  const config = makeConfig('micro', {
    optim: { batchSize: 8 },
    data: { trainSize: 128, testSize: 16 },
    schedule: { steps: STEPS, warmupSteps: 5, evalEvery: 1000, logEvery: 5, checkpointEvery: 10 },
    prelora: { mode: 'prelora', rule: 'module', windowSteps: 5, jointSteps: 5, patience: 2, minFullSteps: 5, weightThreshold: 1e3, lossThreshold: 1e3, minRank: 2, maxRank: 4 },
    seed: 5,
  });
  const events: WorkerEvent[] = [];
  let lost = false;
  let first: GPUDevice | null = null;
  /** the device is destroyed from inside the post of the event this matches (then it is cleared) */
  let destroyOn: ((e: WorkerEvent) => boolean) | null = null;
  /** the run's model is asked for from inside the post of the event this matches (then it is cleared) */
  let exportOn: ((e: WorkerEvent) => boolean) | null = null;
  const host = new TrainingHost({
    post: (e) => {
      events.push(e);
      if (process.env.DEBUG_RUN) process.stderr.write(`${JSON.stringify(e).slice(0, 200)}\n`);
      // destroyed from inside the read-back that reports step LOSE_AT: steps after it are in flight
      if (!lost && e.type === 'engine' && e.runId === 'a' && e.event.type === 'progress' && e.event.records.some((r) => r.step >= LOSE_AT)) {
        lost = true;
        first = device();
        first.destroy();
      }
      if (destroyOn?.(e)) {
        destroyOn = null;
        device().destroy();
      }
      if (exportOn?.(e)) {
        exportOn = null;
        if ('runId' in e && e.runId) void host.receive({ type: 'exportModel', runId: e.runId, naming: 'transformers5' });
      }
    },
    initBackend: (c) => initNodeBackend(c),
    readPublic: async (p) => new Uint8Array(await readFile(join('public', p))),
    openSaved: () => SavedRuns.open(),
  });
  const waitFor = async <T extends WorkerEvent>(pred: (e: WorkerEvent) => e is T): Promise<T> => {
    for (const end = Date.now() + 300_000; ;) {
      if (Date.now() > end) throw new Error(`no such event in 5 minutes; the last events: ${JSON.stringify(events.slice(-6)).slice(0, 2000)}`);
      const hit = events.find(pred);
      if (hit) return hit;
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const state = (runId: string, s: string) => (e: WorkerEvent): e is Extract<WorkerEvent, { type: 'state' }> => e.type === 'state' && e.runId === runId && e.state === s;
  const losses = (runId: string) => events.flatMap((e) => (e.type === 'engine' && e.runId === runId && e.event.type === 'progress' ? e.event.records.map((r): [number, number] => [r.step, r.loss]) : []));

  await host.receive({ type: 'init', backend: 'webgpu' });
  const before = tf.memory().numTensors;
  await host.receive({ type: 'start', runId: 'a', config, name: 'lost' });
  const failed = await waitFor(state('a', 'failed'));
  const error = await waitFor((e): e is Extract<WorkerEvent, { type: 'error' }> => e.type === 'error' && e.runId === 'a');
  const afterLoss = tf.memory().numTensors - before;
  const lossEvent = events.flatMap((e) => (e.type === 'engine' && e.event.type === 'deviceLost' ? [e.event.loss] : []))[0] ?? null;
  const saved = (await (await SavedRuns.open()).list())[0]!;
  await host.receive({ type: 'restore', runId: 'b', savedId: saved.id });
  await waitFor(state('b', 'paused'));
  await host.receive({ type: 'resume', runId: 'b' });
  const done = await waitFor(state('b', 'done'));
  await waitFor((e): e is Extract<WorkerEvent, { type: 'saved' }> => e.type === 'saved' && e.runId === 'b' && e.info.step === STEPS);
  await host.receive({ type: 'reset', runId: 'b' });
  const tensorsLeft = tf.memory().numTensors - before;

  // a paused run loses its device: under the pause's save (c), or before a switch by hand (d) or an export (h), whose read-back finds it
  // no module switches by itself (the per-module rule switches none before minFullSteps),
  // so the one switched by hand is still full wherever the pause lands (a module that had
  // switched already took no switch, so nothing read the device back: once, that hung)
  const cut = {
    ...config,
    schedule: { ...config.schedule, steps: 400, checkpointEvery: 0 },
    prelora: { ...config.prelora, minFullSteps: 1000 },
  };
  /** a run whose device went (`gone`): what the worker said once it failed, its states, and whether a new device came */
  const failedRun = async (runId: string, gone: GPUDevice) => {
    const error = await waitFor((e): e is Extract<WorkerEvent, { type: 'error' }> => e.type === 'error' && e.runId === runId);
    await waitFor(state(runId, 'failed'));
    const states = events.filter((e): e is Extract<WorkerEvent, { type: 'state' }> => e.type === 'state' && e.runId === runId).map((e) => e.state);
    return { message: error.message, states, newDevice: device() !== gone };
  };
  const lostWhilePaused = async (runId: string, when: 'saving' | 'switching' | 'exporting') => {
    await host.receive({ type: 'start', runId, config: cut, name: `lost while ${when}` });
    await waitFor((e): e is WorkerEvent => e.type === 'engine' && e.runId === runId && e.event.type === 'progress');
    const gone = device();
    // as the pause is posted, before its save reads the run back
    if (when === 'saving') destroyOn = (e) => e.type === 'state' && e.runId === runId && e.state === 'paused';
    await host.receive({ type: 'pause', runId });
    const paused = await waitFor(state(runId, 'paused'));
    const selfSwitched = events.some((e) => e.type === 'engine' && e.runId === runId && e.event.type === 'phase');
    if (selfSwitched) throw new Error(`run ${runId} switched a module by itself before its pause: the switch by hand would be no switch`);
    if (when !== 'saving') {
      await waitFor((e): e is WorkerEvent => e.type === 'saved' && e.runId === runId && e.info.step === paused.step);
      gone.destroy();
      await host.receive(when === 'switching' ? { type: 'forceSwitch', runId, module: 'blocks.0.query' } : { type: 'exportModel', runId, naming: 'transformers5' });
    }
    return failedRun(runId, gone);
  };
  const pausedLoss = { saving: await lostWhilePaused('c', 'saving'), switching: await lostWhilePaused('d', 'switching'), exporting: await lostWhilePaused('h', 'exporting') };

  // a finished run (f, saved at step 5) loses its device as its end is posted, before its last save reads it back
  // (its model asked for in that moment: the export waits behind the save); and a finished run (g), saved whole,
  // loses it before its model is exported
  const lostAtTheEnd = async (runId: string, when: 'finishing' | 'exporting'): Promise<Omit<DeviceLossRun['finishedLoss'], 'errors'>> => {
    const gone = device();
    if (when === 'finishing') destroyOn = exportOn = (e) => e.type === 'state' && e.runId === runId && e.state === 'done';
    await host.receive({ type: 'start', runId, config: { ...cut, schedule: { ...cut.schedule, steps: 10, checkpointEvery: 5 } }, name: `lost while ${when}` });
    if (when === 'exporting') {
      await waitFor((e): e is WorkerEvent => e.type === 'saved' && e.runId === runId && e.info.reason === 'done');
      gone.destroy();
      await host.receive({ type: 'exportModel', runId, naming: 'transformers5' });
    }
    const failed = await failedRun(runId, gone);
    return { ...failed, held: events.filter((e): e is Extract<WorkerEvent, { type: 'held' }> => e.type === 'held').at(-1)!.run };
  };
  const fFrom = events.length;
  const finishedLoss = await lostAtTheEnd('f', 'finishing');
  const exportLoss = await lostAtTheEnd('g', 'exporting');
  // every error (whatever run it names) from f's start until g's: g starts in the worker's
  // turn after f's export, which waited behind f's last save, so whatever that export said is in it
  const gStarted = events.findIndex((e) => e.type === 'started' && e.runId === 'g');
  const fErrors = events.slice(fFrom, gStarted).flatMap((e) => (e.type === 'error' ? [e.message] : []));
  await host.receive({ type: 'start', runId: 'e', config: { ...cut, schedule: { ...cut.schedule, steps: 6 } }, name: 'after' });
  const nextEndedAt = (await waitFor(state('e', 'done'))).step;
  await host.receive({ type: 'reset', runId: 'e' });

  reply({
    loss: lossEvent, message: error.message, failed: failed.state === 'failed',
    backend: tf.getBackend(), newDevice: first !== null && device() !== first,
    resumedAt: saved.step, endedAt: done.step,
    before: losses('a'), after: losses('b'),
    tensorsLeft,
    tensorsAfterLoss: afterLoss,
    pausedLoss, finishedLoss: { ...finishedLoss, errors: fErrors }, exportLoss, nextEndedAt,
    trainer: await lostTrainer(),
  } satisfies DeviceLossRun);
}
