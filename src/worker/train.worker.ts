// A dedicated module worker that owns one engine: it starts the backend once, runs
// one training run at a time, forwards engine events as they are, and yields between
// steps so pause, step, stop and live settings are heard at once. What a user can get
// wrong comes back as an `error` event; the worker and the trained state stay.
import { initBrowserBackend } from '../engine/backend-browser';
import type { BackendChoice, BackendInfo } from '../engine/backend';
import { validateConfig, type RunConfig } from '../engine/config';
import { fitModelToData, loadBuiltin } from '../engine/data/builtin';
import type { Dataset } from '../engine/data/dataset';
import { DatasetError } from '../engine/data/errors';
import { describeDataset } from '../engine/data/preview';
import { pageDataLimit } from '../engine/data/limits';
import { datasetFromFiles } from '../engine/data/upload';
import { decodeImage } from './decode-image';
import { Trainer } from '../engine/trainer';
import { BenchStopped, runBench } from '../engine/bench/run';
import type { Command, RunState, WorkerEvent } from './protocol';

const post = (e: WorkerEvent) => (self as unknown as Worker).postMessage(e);

let backend: Promise<BackendInfo> | null = null;
let trainer: Trainer | null = null;
let runId: string | null = null;
/** what the loop should do next: keep going, or stop at the next step boundary */
let want: 'run' | 'pause' | 'stop' = 'pause';
let looping = false;
/** a benchmark is running (it owns the device until it ends) / has been asked to stop */
let benching = false;
let benchStop = false;
const BENCH_BUSY = 'a benchmark is running: stop it (or let it finish) first';
/** the user's uploaded dataset: replaced only by a successful upload */
let uploaded: Dataset | null = null;

// files under the served public/ folder (the bundled MNIST)
const readPublic = async (path: string) => {
  const res = await fetch(new URL(`/${path}`, self.location.origin));
  if (!res.ok) throw new DatasetError(`could not load the bundled ${path} (HTTP ${res.status})`);
  return new Uint8Array(await res.arrayBuffer());
};

/** the last built-in set: the picker's preview and the next start share it, not build it twice */
let builtin: { key: string; dataset: Promise<Dataset> } | null = null;

async function datasetFor(config: RunConfig): Promise<Dataset> {
  if (config.data.dataset === 'upload') {
    if (!uploaded) throw new DatasetError('no dataset uploaded yet: upload one, or pick synthetic or mnist');
    return uploaded;
  }
  const { data, seed, model } = config;
  const key = JSON.stringify([data, seed, model.imageSize, model.channels, model.numClasses]);
  if (builtin?.key !== key) {
    const dataset = loadBuiltin(config, readPublic);
    dataset.catch(() => { if (builtin?.key === key) builtin = null; }); // a failure is not kept
    builtin = { key, dataset };
  }
  return builtin.dataset;
}

const nextTask = () => new Promise<void>((resolve) => setTimeout(resolve, 0));
const fail = (message: string, fatal = false) => post({ type: 'error', runId, message, fatal });

function ready(choice: BackendChoice): Promise<BackendInfo> {
  backend ??= initBrowserBackend(choice).then((info) => {
    post({ type: 'ready', backend: info });
    return info;
  });
  return backend;
}

function state(s: RunState): void {
  if (trainer && runId) post({ type: 'state', runId, state: s, step: trainer.step });
}

/** Train until paused, stopped or done; one step at a time, yielding between steps. */
async function loop(steps?: number): Promise<void> {
  if (!trainer || looping) return;
  looping = true;
  const t = trainer;
  try {
    await t.run(steps ?? t.config.schedule.steps - t.step, async () => {
      await nextTask();
      return want === 'run' && trainer === t;
    });
  } finally {
    looping = false;
  }
  if (trainer !== t) return;
  if (t.divergence) state('stopped'); // the engine's `diverged` event, forwarded, says why
  else if (t.step >= t.config.schedule.steps) state('done');
  else state(want === 'stop' ? 'stopped' : 'paused');
}

async function start(id: string, requested: RunConfig): Promise<void> {
  if (benching) {
    post({ type: 'error', runId: id, message: BENCH_BUSY, fatal: false });
    return;
  }
  const info = await ready('auto');
  // refuse a model that cannot fit before generating or loading any data
  const early = validateConfig(requested, info.memoryBudgetBytes);
  if (early.length) {
    post({ type: 'error', runId: id, message: early.map((p) => `${p.path}: ${p.message}`).join('\n'), fatal: false });
    return;
  }
  let dataset: Dataset;
  try {
    dataset = await datasetFor(requested);
  } catch (err) {
    post({ type: 'error', runId: id, message: (err as Error).message, fatal: false });
    return;
  }
  // the model's input and head follow the data (MNIST: 28 px, 1 channel)
  const config = fitModelToData(requested, dataset);
  const problems = validateConfig(config, info.memoryBudgetBytes);
  if (problems.length) {
    post({ type: 'error', runId: id, message: problems.map((p) => `${p.path}: ${p.message}`).join('\n'), fatal: false });
    return;
  }
  want = 'stop';
  while (looping) await nextTask(); // let a previous run reach its step boundary
  trainer?.dispose();
  runId = id;
  trainer = new Trainer(config, dataset, (event) => post({ type: 'engine', runId: id, event }));
  want = 'run';
  state('running');
  await loop();
}

function setPolicy(update: Extract<Command, { type: 'setPolicy' }>['update']): void {
  if (!trainer || !runId) return fail('no run to change: start one first');
  const next = { ...trainer.config, prelora: { ...trainer.controller.settings, ...update } };
  const problems = validateConfig(next);
  if (problems.length) return fail(problems.map((p) => `${p.path}: ${p.message}`).join('\n'));
  trainer.setPolicy(update);
  post({ type: 'policy', runId, update });
}

/** The benchmark in this worker, on the page's backend. A paused run stays as it is. */
async function bench(cmd: Extract<Command, { type: 'bench' }>): Promise<void> {
  const failed = (message: string) => post({ type: 'bench', status: { state: 'failed', message } });
  if (benching) return failed('a benchmark is running already');
  if (cmd.config.data.dataset === 'upload') return failed('the benchmark runs on the built-in sets: pick synthetic or mnist');
  if (looping) return failed('a run is training: pause or stop it first, the benchmark needs the device to itself');
  const info = await ready('auto');
  const problems = validateConfig(cmd.config, info.memoryBudgetBytes);
  if (problems.length) return failed(problems.map((p) => `${p.path}: ${p.message}`).join('\n'));
  benching = true;
  benchStop = false;
  try {
    const report = await runBench({
      base: cmd.config, preset: cmd.preset, seeds: cmd.seeds, backend: info.name, device: info.adapter?.description ?? '',
      load: datasetFor, shouldStop: () => benchStop, yieldBetween: nextTask,
      onProgress: (p) => post({ type: 'bench', status: { state: 'running', done: p.done, total: p.total, label: p.label } }),
    });
    post({ type: 'bench', status: { state: 'done', report } });
  } catch (err) {
    if (err instanceof BenchStopped) post({ type: 'bench', status: { state: 'stopped' } });
    else failed(err instanceof Error ? err.message : String(err));
  } finally {
    benching = false;
  }
}

async function handle(cmd: Command): Promise<void> {
  switch (cmd.type) {
    case 'init': await ready(cmd.backend); return;
    case 'start': return start(cmd.runId, cmd.config);
    case 'pause': want = 'pause'; return;
    case 'stop': want = 'stop'; if (!looping) state('stopped'); return;
    case 'resume':
      if (benching) return fail(BENCH_BUSY);
      if (trainer?.divergence) return fail(trainer.divergence.message);
      if (!trainer || trainer.step >= trainer.config.schedule.steps) return;
      want = 'run';
      state('running');
      return loop();
    case 'step':
      if (benching) return fail(BENCH_BUSY);
      if (trainer?.divergence) return fail(trainer.divergence.message);
      if (!trainer || looping || trainer.step >= trainer.config.schedule.steps) return;
      want = 'pause';
      return loop(1);
    case 'reset':
      want = 'stop';
      while (looping) await nextTask();
      trainer?.dispose();
      trainer = null;
      runId = null;
      return;
    case 'setPolicy': return setPolicy(cmd.update);
    case 'forceSwitch':
      if (!trainer) return fail('no run: start one first');
      if (trainer.divergence) return fail(trainer.divergence.message);
      try { trainer.forceSwitch(cmd.module); } catch (err) { return fail((err as Error).message); }
      if (!looping) await trainer.controller.applyForced(); // paused: at a step boundary already
      return;
    case 'evaluate':
      if (trainer && !looping) await trainer.evaluate();
      return;
    case 'loadDataset':
      try {
        const files = cmd.files.map((f) => ({ name: f.name, path: f.path, bytes: new Uint8Array(f.bytes) }));
        const limit = pageDataLimit((navigator as Navigator & { deviceMemory?: number }).deviceMemory);
        uploaded = await datasetFromFiles(files, { imageSize: cmd.imageSize, seed: cmd.seed, limit, decode: decodeImage });
        post({ type: 'dataset', source: 'upload', info: describeDataset(uploaded) });
      } catch (err) {
        fail(err instanceof DatasetError ? err.message : `could not read the upload: ${(err as Error).message}`);
      }
      return;
    case 'bench': return bench(cmd);
    case 'stopBench': benchStop = true; return;
    case 'previewDataset':
      try {
        const source = cmd.config.data.dataset;
        post({ type: 'dataset', source, info: describeDataset(await datasetFor(cmd.config)) });
      } catch (err) {
        fail((err as Error).message);
      }
      return;
  }
}

self.onmessage = (msg: MessageEvent<Command>) => {
  handle(msg.data).catch((err: unknown) => fail(err instanceof Error ? err.message : String(err), true));
};
