// The training worker's logic in Node, with real tfjs (wasm) and real files: every
// command, a run from start to done, pause/step/resume, live settings, forced
// switches, uploads, the benchmark and its stop, a model's export and weights to start
// from, a throw mid-step, and messages that are unknown,
// malformed or hostile: each gets a named error and no run's state changes.
import * as tf from '@tensorflow/tfjs';
import { unzipSync } from 'fflate';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../../src/engine/backend-node';
import { makeConfig, type DeepPartial, type RunConfig } from '../../src/engine/config';
import { loadBuiltin } from '../../src/engine/data/builtin';
import type { EngineEvent } from '../../src/engine/events';
import { hubParameters } from '../../src/engine/io/hf-layout';
import { readSafetensors, writeSafetensors, type WritableTensor } from '../../src/engine/io/safetensors';
import { prepareRun } from '../../src/engine/prepare';
import { Trainer } from '../../src/engine/trainer';
import { TrainingHost, type HostDeps } from '../../src/worker/host';
import type { RunState, WorkerEvent } from '../../src/worker/protocol';
import { cifarBatch } from '../helpers/cifar';

const readPublic = async (p: string) => new Uint8Array(await readFile(join('public', p)));

function harness(more: Partial<HostDeps> = {}) {
  const events: WorkerEvent[] = [];
  const host = new TrainingHost({ post: (e) => events.push(e), initBackend: (c) => initNodeBackend(c), readPublic, ...more });
  const waitFor = async <T extends WorkerEvent>(pred: (e: WorkerEvent) => e is T, timeout = 60_000, from = 0): Promise<T> => {
    const end = Date.now() + timeout;
    for (;;) {
      const hit = events.slice(from).find(pred);
      if (hit) return hit;
      if (Date.now() > end) throw new Error(`no such event in ${timeout} ms; got ${events.map((e) => e.type).join(', ')}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  const stateOf = (runId: string, state: RunState) => (e: WorkerEvent): e is Extract<WorkerEvent, { type: 'state' }> =>
    e.type === 'state' && e.runId === runId && e.state === state;
  const errors = () => events.filter((e): e is Extract<WorkerEvent, { type: 'error' }> => e.type === 'error');
  const steps = (runId: string) => events.flatMap((e) => (e.type === 'engine' && e.runId === runId && e.event.type === 'progress' ? e.event.records.map((r) => r.step) : []));
  /** Start run `runId`, let it train, and pause it: its paused state. */
  const startPaused = async (runId: string, config: RunConfig) => {
    await host.receive({ type: 'start', runId, config });
    await waitFor(stateOf(runId, 'running'));
    await host.receive({ type: 'pause', runId });
    return waitFor(stateOf(runId, 'paused'));
  };
  return { host, events, waitFor, stateOf, errors, steps, startPaused };
}

const micro = (steps: number, more: DeepPartial<RunConfig> = {}): RunConfig => makeConfig('micro', {
  ...more,
  data: { trainSize: 200, testSize: 40, ...more.data },
  schedule: { steps, warmupSteps: 2, evalEvery: 1000, logEvery: 4, ...more.schedule },
  prelora: { mode: 'prelora', rule: 'module', windowSteps: 4, jointSteps: 4, patience: 2, ...more.prelora },
});

/** 24 steps of windows of 4, read back every 4 steps, in which every module switches at 8 (seed 4). */
const switching = micro(24, { seed: 4, prelora: { weightThreshold: 50, lossThreshold: 50 } });

/** A Hub checkpoint of zeros for the model `config` runs (the model follows its data). */
async function zeroWeights(config: RunConfig): Promise<[string, WritableTensor][]> {
  const prepared = await prepareRun(config, { load: (c) => loadBuiltin(c, readPublic) });
  return hubParameters(prepared.config!.model).map(([name, shape]) => [name, { shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) }]);
}

/** The events of `config` run the CLI's way: prepareRun, then Trainer.run to the end. */
async function cliEvents(config: RunConfig): Promise<EngineEvent[]> {
  const { config: ran, dataset } = await prepareRun(config, { load: (c) => loadBuiltin(c, readPublic) });
  const events: EngineEvent[] = [];
  const t = new Trainer(ran!, dataset!, (e) => events.push(e));
  await t.run();
  t.dispose();
  return events;
}

const isType = <K extends WorkerEvent['type']>(type: K) => (e: WorkerEvent): e is Extract<WorkerEvent, { type: K }> => e.type === type;

describe('the worker host (Node, wasm)', () => {
  let tensorsBefore = 0;
  beforeAll(async () => {
    await initNodeBackend('wasm');
  });
  afterEach(() => {
    // whatever a test started is gone: no tensor outlives its run
    expect(tf.memory().numTensors).toBe(tensorsBefore);
  });

  it('starts a run with the config that really runs, trains it to the end, and lets it go', async () => {
    tensorsBefore = tf.memory().numTensors;
    const { host, events, waitFor, stateOf } = harness();
    await host.receive({ type: 'init', backend: 'auto' });
    expect(events[0]).toMatchObject({ type: 'ready', backend: { name: 'wasm' } });
    await host.receive({ type: 'start', runId: 'a', config: micro(12, { data: { dataset: 'mnist' } }) });
    const started = await waitFor(isType('started'));
    // the model follows the data: MNIST is 28 px, one channel; micro asked for 16 px, three
    expect([started.config.model.imageSize, started.config.model.channels]).toEqual([28, 1]);
    const firstOfRun = events.findIndex((e) => 'runId' in e && e.runId === 'a');
    expect(events[firstOfRun]!.type).toBe('started');
    const done = await waitFor(stateOf('a', 'done'));
    expect(done.step).toBe(12);
    const order = events.filter((e) => e.type === 'state').map((e) => (e as { state: string }).state);
    expect(order).toEqual(['running', 'done']);
    expect(events.filter((e) => e.type === 'engine' && e.event.type === 'evaluation')).toHaveLength(1); // at the end
    // a finished run is gone from the worker: a late change is refused and names the run
    await host.receive({ type: 'setPolicy', runId: 'a', update: { weightThreshold: 2 } });
    expect(events.at(-1)).toEqual({ type: 'error', runId: null, message: 'no run "a" in the worker (it ended or was replaced): the change applies to the next run' });
    // but its model stays (for an export) until a reset lets it go
    expect(events.filter(isType('held'))).toEqual([{ type: 'held', run: 'a' }]);
    await host.receive({ type: 'reset', runId: 'a' });
    expect(events.at(-1)).toEqual({ type: 'held', run: null });
  }, 60_000);

  it('trains exactly what the CLI trains: the same losses and windows, pauses or not', async () => {
    tensorsBefore = tf.memory().numTensors;
    const { host, events, waitFor, stateOf } = harness();
    await host.receive({ type: 'start', runId: 'w', config: switching });
    await waitFor(stateOf('w', 'running'));
    await host.receive({ type: 'pause', runId: 'w' }); // a pause and a single step change nothing
    await waitFor(stateOf('w', 'paused'));
    await host.receive({ type: 'step', runId: 'w' });
    await host.receive({ type: 'resume', runId: 'w' }); // before the step is over: it carries on
    await waitFor(stateOf('w', 'done'));
    expect(events.filter((e) => e.type === 'state').map((e) => (e as { state: string }).state)).toEqual(['running', 'paused', 'running', 'done']);
    const engine = events.flatMap((e) => (e.type === 'engine' ? [e.event] : []));
    const direct = await cliEvents(switching);
    const losses = (es: EngineEvent[]) => es.flatMap((e) => (e.type === 'progress' ? e.records.map((r) => r.loss) : []));
    const plain = (es: EngineEvent[]) => es.filter((e) => e.type === 'window' || e.type === 'phase' || e.type === 'evaluation');
    expect(losses(engine)).toHaveLength(24);
    expect(losses(engine)).toEqual(losses(direct));
    expect(plain(engine)).toEqual(plain(direct));
    expect(engine.some((e) => e.type === 'phase')).toBe(true); // modules switched along the way
    await host.receive({ type: 'reset', runId: 'w' });
  }, 60_000);

  it("posts the CLI's run log event for event, in its order: a window read back a step late comes before its interval's progress in both", async () => {
    tensorsBefore = tf.memory().numTensors;
    const { host, events, waitFor, stateOf } = harness(); // every window closes where an interval ends
    await host.receive({ type: 'start', runId: 'o', config: switching });
    await waitFor(stateOf('o', 'done'));
    await host.receive({ type: 'reset', runId: 'o' });
    // the intervals' times are the only numbers two runs do not share
    const untimed = (es: EngineEvent[]) => es.map((e) => (e.type === 'progress' ? { ...e, seconds: 0, samplesPerSec: 0 } : e));
    const posted = untimed(events.flatMap((e) => (e.type === 'engine' ? [e.event] : [])));
    const logged = untimed(await cliEvents(switching));
    const boundary = (es: EngineEvent[], step: number) => es.flatMap((e) => (e.type === 'window' && e.window.step === step ? ['window']
      : e.type === 'progress' && e.records.at(-1)!.step === step ? ['progress'] : []));
    expect(posted.map((e) => e.type)).toEqual(logged.map((e) => e.type));
    expect(posted).toEqual(logged);
    // at a boundary the window, then the interval's progress: the windows at 4, 16, 20 and
    // 24 can switch nothing and are read back a step later (24's by run()'s last flush),
    // 8's is decided at its end; at 12 the joint phases end first (their read-back before
    // their freeze), and the window closes after them
    for (const step of [4, 8, 16, 20, 24]) expect([step, boundary(posted, step)]).toEqual([step, ['window', 'progress']]);
  }, 60_000);

  it('pauses at a step boundary, steps once, resumes, and resets', async () => {
    tensorsBefore = tf.memory().numTensors;
    const { host, events, waitFor, stateOf, steps } = harness();
    await host.receive({ type: 'start', runId: 'b', config: micro(400) });
    await waitFor((e): e is WorkerEvent => e.type === 'engine' && e.event.type === 'progress');
    await host.receive({ type: 'pause', runId: 'b' });
    const paused = await waitFor(stateOf('b', 'paused'));
    expect(steps('b').at(-1)).toBe(paused.step); // pausing reads back what it trained
    await new Promise((r) => setTimeout(r, 200));
    expect(steps('b').at(-1)).toBe(paused.step);
    const mark = events.length;
    await host.receive({ type: 'step', runId: 'b' });
    expect((await waitFor(stateOf('b', 'paused'), 30_000, mark)).step).toBe(paused.step + 1);
    await host.receive({ type: 'resume', runId: 'b' });
    await waitFor((e): e is WorkerEvent => e.type === 'engine' && e.event.type === 'progress' && e.event.records.at(-1)!.step > paused.step + 4);
    await host.receive({ type: 'reset', runId: 'b' });
    const after = events.length;
    await new Promise((r) => setTimeout(r, 100));
    expect(events.slice(after)).toEqual([]); // nothing more from a reset run
    expect(events.some(stateOf('b', 'stopped'))).toBe(false); // the page dropped it: no state to report
  }, 60_000);

  it('a run reset while its start is prepared is never made; the run it replaces stops; the next start and the benchmark go ahead', async () => {
    tensorsBefore = tf.memory().numTensors;
    const { host, events, waitFor, stateOf } = harness();
    await host.receive({ type: 'start', runId: 'a', config: micro(400) });
    await waitFor(stateOf('a', 'running'));
    // the page starts b and drops it at once (its reset arrives while b's data loads)
    const starting = host.receive({ type: 'start', runId: 'b', config: micro(400, { data: { trainSize: 240 } }) });
    await host.receive({ type: 'reset', runId: 'b' });
    await starting;
    await waitFor(stateOf('a', 'stopped'));
    await new Promise((r) => setTimeout(r, 300));
    expect(events.filter((e) => 'runId' in e && e.runId === 'b')).toEqual([]); // nothing of b, ever
    expect(events.filter(isType('held')).at(-1)).toEqual({ type: 'held', run: null });
    // nothing trains: the benchmark has the device, and then a start is taken
    await host.receive({ type: 'bench', config: micro(12, { prelora: { weightThreshold: 1e3, lossThreshold: 1e3 } }), preset: 'micro', seeds: 1 });
    await waitFor((e): e is WorkerEvent => e.type === 'bench' && (e.status.state === 'done' || e.status.state === 'failed'));
    expect(events.filter((e) => e.type === 'bench').at(-1)).toMatchObject({ status: { state: 'done' } });
    await host.receive({ type: 'start', runId: 'c', config: micro(4) });
    await waitFor(stateOf('c', 'done'));
    await host.receive({ type: 'reset', runId: 'c' });
  }, 60_000);

  it('a run whose progress is slow to come tells its step at most once a second (a tick), in step order; none where progress comes first', async () => {
    tensorsBefore = tf.memory().numTensors;
    // a slow step, as small's on wasm: 300 ms between steps, progress every 100 steps (and windows of 100)
    const { host, events, waitFor, stateOf } = harness({ nextTask: () => new Promise((r) => setTimeout(r, 300)) });
    const isTick = (e: WorkerEvent): e is Extract<WorkerEvent, { type: 'tick' }> => e.type === 'tick';
    await host.receive({ type: 'start', runId: 't', config: micro(400, { schedule: { logEvery: 100 }, prelora: { windowSteps: 100, jointSteps: 100 } }) });
    const started = Date.now();
    await waitFor(stateOf('t', 'running'));
    const third = await waitFor((e): e is WorkerEvent => isTick(e) && events.filter(isTick)[2] === e, 20_000);
    const elapsed = Date.now() - started;
    const ticks = events.slice(0, events.indexOf(third) + 1).filter(isTick);
    await host.receive({ type: 'reset', runId: 't' });
    expect(events.slice(0, events.indexOf(third)).some((e) => e.type === 'engine' && e.event.type === 'progress')).toBe(false);
    expect(ticks.every((e) => e.runId === 't')).toBe(true);
    const steps = ticks.map((e) => e.step);
    expect(steps[0]).toBeGreaterThanOrEqual(3); // not at once: a second of steps first
    expect(steps).toEqual([...steps].sort((a, b) => a - b));
    expect(new Set(steps).size).toBe(steps.length);
    expect(ticks.length).toBeLessThanOrEqual(elapsed / 1000 + 1);
    // a fast run's progress comes first: no tick
    const { host: fast, events: fastEvents, waitFor: fastWait, stateOf: fastState } = harness();
    await fast.receive({ type: 'start', runId: 'f', config: micro(12) });
    await fastWait(fastState('f', 'done'));
    expect(fastEvents.some((e) => e.type === 'tick')).toBe(false);
    await fast.receive({ type: 'reset', runId: 'f' });
  }, 60_000);

  it('a start taken back while its data loads leaves the paused run it was to replace paused, and it trains on', async () => {
    tensorsBefore = tf.memory().numTensors;
    const { host, events, waitFor, stateOf, startPaused } = harness();
    const paused = await startPaused('a', micro(40));
    const starting = host.receive({ type: 'start', runId: 'b', config: micro(400, { data: { trainSize: 240 } }) });
    await host.receive({ type: 'reset', runId: 'b' });
    await starting;
    await new Promise((r) => setTimeout(r, 100));
    // before, the paused run was stopped (and saved as "replaced") for a run that never came
    expect(events.filter((e) => 'runId' in e && e.runId === 'b')).toEqual([]);
    expect(events.some(stateOf('a', 'stopped'))).toBe(false);
    expect(events.filter(isType('held')).at(-1)).toEqual({ type: 'held', run: 'a' });
    await host.receive({ type: 'resume', runId: 'a' });
    const done = await waitFor(stateOf('a', 'done'));
    expect(done.step).toBe(40);
    expect(done.step).toBeGreaterThan(paused.step);
    await host.receive({ type: 'reset', runId: 'a' });
  }, 60_000);

  it('takes live settings as the engine applies them, refuses bad ones by field, and keeps training', async () => {
    tensorsBefore = tf.memory().numTensors;
    const { host, events, waitFor, startPaused } = harness();
    const paused = await startPaused('c', micro(400, { prelora: { weightThreshold: 1e-9, lossThreshold: 1e-9 } }));
    await host.receive({ type: 'setPolicy', runId: 'c', update: { windowSteps: 8, metric: 'gradChange%' } });
    // a new window length brings the joint phase along: the engine's rule
    expect(events.at(-1)).toEqual({ type: 'policy', runId: 'c', step: paused.step, update: { metric: 'gradChange%', windowSteps: 8, jointSteps: 8, rewarmSteps: 50 } }); // its re-warm of 25 after windows of 4, doubled
    await host.receive({ type: 'setPolicy', runId: 'c', update: { patience: -3 } });
    expect(events.at(-1)).toEqual({ type: 'error', runId: 'c', message: 'prelora.patience must be a whole number >= 2 (got -3)' });
    // a forced switch while paused happens at once, at this step boundary
    await host.receive({ type: 'forceSwitch', runId: 'c', module: 'blocks.1.fc2' });
    const phase = events.at(-2);
    expect(phase).toMatchObject({ type: 'engine', runId: 'c', event: { type: 'phase', change: { module: 'blocks.1.fc2', to: 'joint', decidedBy: 'forced', step: paused.step } } });
    await host.receive({ type: 'forceSwitch', runId: 'c', module: 'blocks.7.fc2' });
    expect(events.at(-1)).toMatchObject({ type: 'error', runId: 'c', message: expect.stringMatching(/^no module "blocks.7.fc2": use blocks/) });
    await host.receive({ type: 'resume', runId: 'c' });
    const mark = events.length;
    await waitFor((e): e is WorkerEvent => e.type === 'engine' && e.event.type === 'window', 30_000, mark);
    await host.receive({ type: 'reset', runId: 'c' });
  }, 60_000);

  it('answers unknown, malformed and hostile messages with a named error, and no run changes', async () => {
    tensorsBefore = tf.memory().numTensors;
    const { host, events, waitFor, stateOf, errors, startPaused } = harness();
    await host.receive({ type: 'start', runId: 'done', config: micro(4) });
    await waitFor(stateOf('done', 'done'));
    const paused = await startPaused('p', micro(400));
    const mark = events.length;
    const bad: [unknown, string][] = [
      [null, 'a message to the worker is an object with a "type" (got null)'],
      [{ type: 'frobnicate' }, 'unknown command "frobnicate": the worker takes init, start, restore, branch, pause, resume, step, reset, setPolicy, forceSwitch, loadDataset, previewDataset, bench, stopBench, exportModel, loadWeights, clearWeights'],
      [{ runId: 'p' }, 'a message to the worker needs a "type": one of init, start, restore, branch, pause, resume, step, reset, setPolicy, forceSwitch, loadDataset, previewDataset, bench, stopBench, exportModel, loadWeights, clearWeights'],
      [{ type: 'start', runId: 'x' }, 'start: config: missing'],
      [{ type: 'start', runId: 'x', config: { ...micro(4), seed: 'one' } }, 'start: config.seed: expected number (got "one")'],
      [{ type: 'setPolicy', runId: 'p', update: { mode: 'lora' } }, 'setPolicy: update.mode: not a field of this command'],
      [{ type: 'setPolicy', runId: 'p', update: JSON.parse('{"__proto__": {"weightThreshold": 1e9, "polluted": 1}}') },
        'setPolicy: "update.__proto__" is refused: no message has it, and it could reach an object\'s prototype'],
      [{ type: 'pause' }, 'pause: runId: missing'],
      [{ type: 'bench', config: micro(12), preset: 'vit-l16', seeds: 1 }, 'bench: preset: expected ("micro" | "nano" | "tiny" | "small") (got "vit-l16")'],
    ];
    for (const [message] of bad) await host.receive(message);
    expect(errors().slice(-bad.length).map((e) => e.message)).toEqual(bad.map(([, m]) => m));
    expect(errors().slice(-bad.length).every((e) => e.runId === null)).toBe(true);
    expect(events.slice(mark).every((e) => e.type === 'error')).toBe(true); // no state of any run changed
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    // the paused run is intact: it steps from where it was
    await host.receive({ type: 'step', runId: 'p' });
    expect((await waitFor(stateOf('p', 'paused'), 30_000, mark)).step).toBe(paused.step + 1);
    // commands for another run do not reach this one
    await host.receive({ type: 'resume', runId: 'done' });
    await host.receive({ type: 'reset', runId: 'someone-else' });
    await new Promise((r) => setTimeout(r, 50));
    const again = events.length;
    await host.receive({ type: 'step', runId: 'p' });
    expect((await waitFor(stateOf('p', 'paused'), 30_000, again)).step).toBe(paused.step + 2);
    await host.receive({ type: 'reset', runId: 'p' });
  }, 60_000);

  it('a throw mid-step or mid-evaluation fails that run with the step and the reason, leaking no tensor; the worker takes the next run', async () => {
    tensorsBefore = tf.memory().numTensors;
    // a real trainer whose forward throws once it is done (the tape has saved its tensors), as
    // a device out of memory would: at step 6 (seed 66), or in the evaluation at step 8 (seed 67)
    const createTrainer: HostDeps['createTrainer'] = (...args) => {
      const t = new Trainer(...args);
      const forward = t.model.forward.bind(t.model);
      let evaluating = false;
      t.model.forward = (x) => {
        const out = forward(x);
        if ((t.stepsDone === 5 && t.config.seed === 66) || (evaluating && t.config.seed === 67)) throw new Error('device lost');
        return out;
      };
      const evaluate = t.evaluate.bind(t);
      t.evaluate = async () => {
        evaluating = true;
        return evaluate().finally(() => { evaluating = false; });
      };
      return t;
    };
    const { host, events, waitFor, stateOf } = harness({ createTrainer });
    await host.receive({ type: 'start', runId: 'f', config: micro(40, { seed: 66 }) });
    const failed = await waitFor(stateOf('f', 'failed'));
    expect(failed.step).toBe(5);
    expect(events).toContainEqual({ type: 'error', runId: 'f', message: 'the run failed at step 5: device lost' });
    expect(tf.memory().numTensors).toBe(tensorsBefore); // the step's batch and its tape's saved tensors too
    await host.receive({ type: 'start', runId: 'e', config: micro(8, { seed: 67 }) });
    expect((await waitFor(stateOf('e', 'failed'))).step).toBe(8);
    expect(events).toContainEqual({ type: 'error', runId: 'e', message: 'the run failed at step 8: device lost' });
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    await host.receive({ type: 'start', runId: 'g', config: micro(8) });
    expect((await waitFor(stateOf('g', 'done'))).step).toBe(8);
    await host.receive({ type: 'reset', runId: 'g' });
  }, 60_000);

  it('a switch by hand that fails half-way while paused fails that run with the reason; the worker takes the next run', async () => {
    tensorsBefore = tf.memory().numTensors;
    // a real trainer whose loss probe after the new adapters throws, as a device that refuses work would
    const createTrainer: HostDeps['createTrainer'] = (...args) => {
      const t = new Trainer(...args);
      const probes = t as unknown as { probeLoss: () => Promise<number> };
      const probe = probes.probeLoss.bind(t);
      let calls = 0;
      probes.probeLoss = async () => {
        if (t.config.seed === 67 && ++calls === 2) throw new Error('the GPU device refused work');
        return probe();
      };
      return t;
    };
    const { host, events, waitFor, stateOf, startPaused } = harness({ createTrainer });
    const paused = await startPaused('s', micro(400, { seed: 67 }));
    await host.receive({ type: 'forceSwitch', runId: 's', module: 'blocks.1.fc2' });
    // adapters were added and the phase never recorded: the run is not left paused half-switched
    expect(events.slice(-3)).toEqual([
      { type: 'error', runId: 's', message: `the run failed at step ${paused.step}, switching blocks.1.fc2 by hand: the GPU device refused work` },
      { type: 'state', runId: 's', state: 'failed', step: paused.step },
      { type: 'held', run: null },
    ]);
    await host.receive({ type: 'resume', runId: 's' }); // it is gone: nothing happens
    expect(events.at(-1)).toEqual({ type: 'held', run: null });
    await host.receive({ type: 'start', runId: 't', config: micro(8) });
    expect((await waitFor(stateOf('t', 'done'))).step).toBe(8);
    await host.receive({ type: 'reset', runId: 't' });
  }, 60_000);

  it('refuses a start it cannot run, naming the field, and keeps the paused run', async () => {
    tensorsBefore = tf.memory().numTensors;
    const { host, events, waitFor, stateOf, startPaused } = harness();
    await startPaused('h', micro(400));
    await host.receive({ type: 'start', runId: 'i', config: micro(10, { model: { patchSize: 5 } }) });
    expect(events.at(-1)).toEqual({ type: 'error', runId: 'i', message: 'model.patchSize: patch 5 does not divide image size 16: pick a divisor of 16' });
    await host.receive({ type: 'start', runId: 'j', config: micro(10, { data: { dataset: 'upload' } }) });
    expect(events.at(-1)).toEqual({ type: 'error', runId: 'j', message: 'data.dataset: no dataset uploaded yet: upload one, or pick synthetic or mnist' });
    expect(events.some((e) => e.type === 'state' && e.runId === 'h' && e.state !== 'running' && e.state !== 'paused')).toBe(false);
    // a start that runs replaces the paused run, which is reported stopped
    await host.receive({ type: 'start', runId: 'k', config: micro(4) });
    await waitFor(stateOf('h', 'stopped'));
    await waitFor(stateOf('k', 'done'));
    await host.receive({ type: 'reset', runId: 'k' });
  }, 60_000);

  it('loads an upload (a bad one keeps the previous), trains on it, and describes a built-in set', async () => {
    tensorsBefore = tf.memory().numTensors;
    const { host, events, waitFor, stateOf } = harness();
    const file = (name: string, bytes: Uint8Array) => ({ name, path: name, bytes: bytes.slice().buffer });
    await host.receive({ type: 'loadDataset', files: [file('data_batch_1.bin', cifarBatch(120))], imageSize: 16, seed: 1 });
    expect(events.at(-1)).toMatchObject({ type: 'dataset', source: 'upload', info: { train: 100, test: 20, shape: [32, 32, 3] } });
    await host.receive({ type: 'loadDataset', files: [file('data_batch_2.bin', cifarBatch(3).subarray(0, 5000))], imageSize: 16, seed: 1 });
    expect(events.at(-1)).toMatchObject({ type: 'error', runId: null, message: expect.stringMatching(/^data_batch_2.bin: 5000 bytes is not a whole number of 3,073-byte CIFAR-10 records/) });
    await host.receive({ type: 'start', runId: 'u', config: micro(4, { data: { dataset: 'upload' }, optim: { batchSize: 8 } }) });
    expect((await waitFor(isType('started'))).config.model.imageSize).toBe(32);
    await waitFor(stateOf('u', 'done'));
    await host.receive({ type: 'reset', runId: 'u' });
    await host.receive({ type: 'previewDataset', config: micro(4, { data: { dataset: 'mnist' } }) });
    expect(events.at(-1)).toMatchObject({ type: 'dataset', source: 'mnist', info: { name: 'MNIST', train: 8000, test: 2000 } });
  }, 60_000);

  it("refuses a synthetic set past the page's data limit before making any of it (a link's 4 GiB), in a preview and a start, and goes on", async () => {
    tensorsBefore = tf.memory().numTensors;
    const { host, events, waitFor, stateOf } = harness();
    // valid for the CLI (data.maxDataMB 4096 holds 1.5 GB); Node tells no device memory, so the page's limit is its 1 GB cap
    const huge = micro(4, { data: { dataset: 'synthetic', trainSize: 1_000_000, testSize: 1_000_000, maxDataMB: 4096 } });
    const message = /^1000000 \+ 1000000 synthetic images \(data\.trainSize \+ data\.testSize\) of 16x16x3 would take 1\.4 GiB, more than the 1\.0 GiB a dataset may take here: lower data\.trainSize or data\.testSize \(the page takes at most a quarter of this device's memory/;
    await host.receive({ type: 'previewDataset', config: huge });
    expect(events.at(-1)).toMatchObject({ type: 'error', runId: null, message: expect.stringMatching(message) });
    await host.receive({ type: 'start', runId: 'h', config: huge });
    expect(events.at(-1)).toMatchObject({ type: 'error', runId: 'h', message: expect.stringMatching(/^data\.dataset: 1000000 \+ 1000000 synthetic images/) });
    expect(events.some((e) => e.type === 'started')).toBe(false);
    await host.receive({ type: 'start', runId: 's', config: micro(4) });
    await waitFor(stateOf('s', 'done'));
    await host.receive({ type: 'reset', runId: 's' });
  }, 30_000);

  it('runs the benchmark on its backend, one thing on the device at a time', async () => {
    tensorsBefore = tf.memory().numTensors;
    const { host, events, waitFor, stateOf } = harness();
    await host.receive({ type: 'start', runId: 'r', config: micro(400) });
    await waitFor(stateOf('r', 'running'));
    await host.receive({ type: 'bench', config: micro(12), preset: 'micro', seeds: 1 });
    expect(events.at(-1)).toEqual({ type: 'bench', status: { state: 'failed', message: 'a run is training: pause it first, the benchmark needs the device to itself' } });
    await host.receive({ type: 'pause', runId: 'r' });
    await waitFor(stateOf('r', 'paused'));
    // at the page's seed (7): the panel says it uses it, and it ran seed 1 whatever the page's
    const benching = host.receive({ type: 'bench', config: micro(12, { seed: 7, prelora: { weightThreshold: 1e3, lossThreshold: 1e3 } }), preset: 'micro', seeds: 1 });
    await waitFor((e): e is WorkerEvent => e.type === 'bench' && e.status.state === 'running');
    await host.receive({ type: 'resume', runId: 'r' });
    expect(events.at(-1)).toEqual({ type: 'error', runId: 'r', message: 'a benchmark is running: stop it (or let it finish) first' });
    await benching;
    const done = events.at(-1);
    if (done?.type !== 'bench' || done.status.state !== 'done') throw new Error(`expected a finished benchmark, got ${JSON.stringify(done)}`);
    expect(done.status.report.runs.map((r) => `${r.mode}/${r.rule}`)).toEqual(['full/global', 'lora/global', 'prelora/global', 'prelora/module']);
    expect(done.status.report).toMatchObject({ preset: 'micro', backend: 'wasm', steps: 12, seeds: 1 });
    expect(new Set(done.status.report.perSeed.map((r) => r.seed))).toEqual(new Set([7]));
    // a long one, stopped: it ends between two steps, and the device is free again
    const long = host.receive({ type: 'bench', config: micro(400), preset: 'micro', seeds: 2 });
    await waitFor((e): e is WorkerEvent => e.type === 'bench' && e.status.state === 'running' && e.status.label.startsWith('seed 1'));
    await host.receive({ type: 'stopBench' });
    await long;
    expect(events.at(-1)).toEqual({ type: 'bench', status: { state: 'stopped' } });
    // seeds from the page's that run past the largest: refused before any warm-up
    await host.receive({ type: 'bench', config: micro(12, { seed: 2 ** 32 - 1 }), preset: 'micro', seeds: 2 });
    expect(events.at(-1)).toEqual({ type: 'bench', status: { state: 'failed', message: 'benchmark seeds 2 from seed 4294967295 run seeds past 4294967295, the largest seed: lower either' } });
    // an upload, refused in the page's words (the page checks it with the same rule)
    await host.receive({ type: 'bench', config: micro(12, { data: { dataset: 'upload' } }), preset: 'micro', seeds: 1 });
    expect(events.at(-1)).toEqual({ type: 'bench', status: { state: 'failed', message: 'dataset must be synthetic or mnist: the benchmark runs on the built-in sets' } });
    await host.receive({ type: 'resume', runId: 'r' });
    expect(events.at(-1)).toMatchObject({ type: 'state', runId: 'r', state: 'running' });
    await host.receive({ type: 'reset', runId: 'r' });
  }, 120_000);
  it('exports the held run\'s model as a zip of the engine\'s export, between steps only, and only while it holds the run', async () => {
    tensorsBefore = tf.memory().numTensors;
    const { host, events, waitFor, stateOf, errors } = harness();
    await host.receive({ type: 'start', runId: 'e', config: micro(400, { prelora: { weightThreshold: 1e3, lossThreshold: 1e3 } }) });
    await waitFor((e): e is WorkerEvent => e.type === 'engine' && e.event.type === 'phase'); // adapters exist
    await host.receive({ type: 'exportModel', runId: 'e', naming: 'transformers5' });
    expect(errors().at(-1)).toEqual({ type: 'error', runId: 'e', message: 'the run is training: pause it to export its model (the export reads it between two steps)', about: 'exportModel' });
    await host.receive({ type: 'pause', runId: 'e' });
    const paused = await waitFor(stateOf('e', 'paused'));
    await host.receive({ type: 'exportModel', runId: 'e', naming: 'transformers4' });
    const exported = events.at(-1);
    if (exported?.type !== 'model') throw new Error(`expected a model export, got ${JSON.stringify(exported)}`);
    expect(exported.naming).toBe('transformers4'); // the answer names its naming: the page names the file by it
    const zip = unzipSync(new Uint8Array(exported.zip));
    expect(Object.keys(zip).sort()).toEqual([...exported.files].sort());
    expect(exported.files).toEqual(expect.arrayContaining(['model/model.safetensors', 'model/config.json', 'base/model.safetensors',
      'adapter/adapter_model.safetensors', 'adapter/adapter_config.json', 'plan.json', 'interop.safetensors', 'README.md']));
    const { tensors } = readSafetensors(zip['model/model.safetensors']!, 'model.safetensors');
    expect(tensors.get('vit.embeddings.cls_token')!.shape).toEqual([1, 1, 32]);
    const adapterKeys = [...readSafetensors(zip['adapter/adapter_model.safetensors']!, 'adapter').tensors.keys()];
    expect(adapterKeys[0]).toMatch(/^base_model\.model\.vit\.encoder\.layer\.\d\./); // transformers 4's names, as asked
    const plan = JSON.parse(new TextDecoder().decode(zip['plan.json']!)) as { format: string; run: { completed: number } };
    expect(plan).toMatchObject({ format: 'prelora-plan', run: { completed: paused.step } });
    // the run goes on after its export; a run the worker no longer holds cannot export its model
    await host.receive({ type: 'step', runId: 'e' });
    await waitFor(stateOf('e', 'paused'), 30_000, events.indexOf(exported));
    await host.receive({ type: 'reset', runId: 'e' });
    await host.receive({ type: 'exportModel', runId: 'e', naming: 'transformers5' });
    expect(errors().at(-1)!.message).toMatch(/^the worker holds only the latest run's model .*: this run's metrics and plan still export from the page$/);
  }, 60_000);

  it('starts runs from loaded weights (checked, a bad file keeps the previous ones) where the exported run ended', async () => {
    tensorsBefore = tf.memory().numTensors;
    const { host, events, waitFor, stateOf, errors } = harness();
    const switching = { weightThreshold: 1e3, lossThreshold: 1e3 };
    await host.receive({ type: 'start', runId: 'a', config: micro(12, { prelora: switching }) });
    await waitFor(stateOf('a', 'done'));
    const evaluation = (runId: string) => events.flatMap((e) => (e.type === 'engine' && e.runId === runId && e.event.type === 'evaluation' ? [e.event.evaluation] : [])).at(-1)!;
    await host.receive({ type: 'exportModel', runId: 'a', naming: 'transformers5' });
    const exported = events.at(-1) as Extract<WorkerEvent, { type: 'model' }>;
    const zip = unzipSync(new Uint8Array(exported.zip));
    const file = (name: string, path: string) => ({ name, bytes: zip[path]!.slice().buffer });
    const model = file('model.safetensors', 'model/model.safetensors');
    const next = micro(4, { prelora: { mode: 'full' }, optim: { lr: 1e-9 } }); // all but frozen: it starts where A ended
    await host.receive({ type: 'loadWeights', files: [model, file('config.json', 'model/config.json')], config: next });
    const tensorCount = readSafetensors(zip['model/model.safetensors']!, 'm').tensors.size;
    expect(events.at(-1)).toEqual({ type: 'weights', weights: { file: 'model.safetensors', bytes: model.bytes.byteLength, tensors: tensorCount, config: 'config.json', ignored: '' } });
    // refused, each by its first bad entry; the weights loaded before stay
    await host.receive({ type: 'loadWeights', files: [{ name: 'cut.safetensors', bytes: model.bytes.slice(0, 5000) }], config: next });
    expect(errors().at(-1)!.message).toMatch(/^cut\.safetensors: .*(truncated|past the end)/);
    await host.receive({ type: 'loadWeights', files: [model], config: makeConfig('nano') });
    expect(errors().at(-1)!.message).toBe('model.safetensors: tensor "vit.embeddings.cls_token": expected shape [1, 1, 64] for this run\'s model, got [1, 1, 32]: ' +
      'train with the model config the file was made with (see its config.json), or give a file made for this one');
    await host.receive({ type: 'loadWeights', files: [model, file('notes.txt', 'README.md')], config: next });
    expect(errors().at(-1)!.message).toBe('model.safetensors, notes.txt: give one model.safetensors, and the config.json beside it if you have it');
    // the export itself, zipped: said to unzip it
    await host.receive({ type: 'loadWeights', files: [{ name: 'prelora-1-model.zip', bytes: exported.zip.slice(0) }], config: next });
    expect(errors().at(-1)!.message).toBe('prelora-1-model.zip is an archive: unzip it and give its model/model.safetensors (and model/config.json beside it)');
    // a second download of config.json, as the browser names it, is the config (it was refused as "other")
    await host.receive({ type: 'loadWeights', files: [model, file('config (1).json', 'model/config.json')], config: next });
    expect(events.at(-1)).toMatchObject({ type: 'weights', weights: { file: 'model.safetensors', config: 'config (1).json' } });
    await host.receive({ type: 'loadWeights', files: [model, file('config.json', 'model/config.json')], config: next });
    // a run of another model is refused before anything else changes: A is still held
    await host.receive({ type: 'start', runId: 'x', config: micro(4, { model: { width: 64 } }) });
    expect(errors().at(-1)).toEqual({ type: 'error', runId: 'x', message: expect.stringMatching(/^the loaded weights do not fit this run: config\.json does not match this run's model: hidden_size is 32 but this run has 64/) });
    expect(events.filter(isType('held')).at(-1)).toEqual({ type: 'held', run: 'a' });
    await host.receive({ type: 'start', runId: 'b', config: next });
    expect(events.find((e) => e.type === 'started' && e.runId === 'b')).toMatchObject({ init: 'model.safetensors' });
    await waitFor(stateOf('b', 'done'));
    expect(evaluation('b').loss).toBeCloseTo(evaluation('a').loss, 4);
    expect(events.filter(isType('held')).slice(-2)).toEqual([{ type: 'held', run: null }, { type: 'held', run: 'b' }]);
    // cleared: the next run starts from a fresh model (and learns nothing at this learning rate)
    await host.receive({ type: 'clearWeights' });
    expect(events.at(-1)).toEqual({ type: 'weights', weights: null });
    await host.receive({ type: 'start', runId: 'c', config: next });
    await waitFor(stateOf('c', 'done'));
    expect(events.find((e) => e.type === 'started' && e.runId === 'c')).toMatchObject({ init: null });
    expect(Math.abs(evaluation('c').loss - evaluation('a').loss)).toBeGreaterThan(0.05);
    await host.receive({ type: 'reset', runId: 'c' });
  }, 90_000);

  it('names a few of a weights file\'s unused tensors, escaped, and how many more', async () => {
    tensorsBefore = tf.memory().numTensors;
    const { host, events } = harness();
    const next = micro(4);
    const weights = await zeroWeights(next);
    // 500,000 empty tensors the model has no use for (34 MB): the page rendered every name, 7.9 million characters
    const unused = Array.from({ length: 500_000 }, (_, i): [string, WritableTensor] => [`x\u202e${i}`, { shape: [0], data: new Float32Array(0) }]);
    const bytes = writeSafetensors([...weights, ...unused]);
    await host.receive({ type: 'loadWeights', files: [{ name: 'model.safetensors', bytes: bytes.buffer as ArrayBuffer }], config: next });
    const loaded = events.at(-1) as Extract<WorkerEvent, { type: 'weights' }>;
    expect(loaded.weights!.tensors).toBe(weights.length + unused.length);
    expect(loaded.weights!.ignored).toMatch(/^x\\u202e\d+, x\\u202e\d+, x\\u202e\d+ and 499997 more$/);
  }, 60_000);

  it('gives a weights file\'s name escaped, in its info and in the runs started from it', async () => {
    tensorsBefore = tf.memory().numTensors;
    const { host, events, waitFor, stateOf } = harness();
    const next = micro(2);
    const bytes = writeSafetensors(await zeroWeights(next));
    // the page showed it raw (<b>{weights.file}</b>, the run's "started from"): a name could read backwards
    await host.receive({ type: 'loadWeights', files: [{ name: 'm\x1b[2J\u202e.safetensors', bytes: bytes.buffer as ArrayBuffer }], config: next });
    expect(events.at(-1)).toMatchObject({ type: 'weights', weights: { file: 'm\\x1b[2J\\u202e.safetensors', config: null, ignored: '' } });
    await host.receive({ type: 'start', runId: 'n', config: next });
    expect(await waitFor(isType('started'))).toMatchObject({ init: 'm\\x1b[2J\\u202e.safetensors' });
    await waitFor(stateOf('n', 'done'));
    await host.receive({ type: 'reset', runId: 'n' });
  }, 60_000);
});
