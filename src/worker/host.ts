// The training worker's logic, apart from the Worker global so that Node tests drive
// it: one engine, one run at a time, the benchmark, the user's dataset. Each message is
// checked at the boundary first; what a user (or a stray message) gets wrong comes back
// as an `error` event that names it, and no other run's state changes. The backend's
// start, the bundled files and image decoding are injected.
import type { BackendChoice, BackendInfo } from '../engine/backend';
import { BENCH_VARIANTS } from '../engine/bench/report';
import { BenchStopped, runBench } from '../engine/bench/run';
import { formatErrors, type RunConfig } from '../engine/config';
import { loadBuiltin, type PublicReader } from '../engine/data/builtin';
import type { Dataset } from '../engine/data/dataset';
import { DatasetError } from '../engine/data/errors';
import type { ImageDecoder } from '../engine/data/folder';
import { pageDataLimit } from '../engine/data/limits';
import { describeDataset } from '../engine/data/preview';
import type { EngineEvent } from '../engine/events';
import { datasetFromFiles } from '../engine/data/upload';
import { prepareRun } from '../engine/prepare';
import { Trainer } from '../engine/trainer';
import { checkCommand } from './boundary';
import type { Command, CommandOf, RunState, WorkerEvent } from './protocol';

export interface HostDeps {
  post: (e: WorkerEvent) => void;
  initBackend: (choice: BackendChoice) => Promise<BackendInfo>;
  /** files of the served public/ folder (the bundled MNIST) */
  readPublic: PublicReader;
  /** decodes uploaded images (the browser's createImageBitmap); without it image folders are refused */
  decode?: ImageDecoder;
  /** lets messages be heard between two steps; default: the next macrotask */
  nextTask?: () => Promise<void>;
  /** builds a run's trainer (default: the engine's); tests inject faults here */
  createTrainer?: (...args: ConstructorParameters<typeof Trainer>) => Trainer;
}

interface Run {
  id: string;
  trainer: Trainer;
}

const BENCH_BUSY = 'a benchmark is running: stop it (or let it finish) first';
const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

export class TrainingHost {
  private backend: Promise<BackendInfo> | null = null;
  private run: Run | null = null;
  /** what the loop does at the next step boundary */
  private want: 'run' | 'pause' | 'stop' = 'pause';
  private looping = false;
  /** trainer work that awaits (the loop, a forced switch while paused, a swap of runs), one at a time */
  private chain: Promise<void> = Promise.resolve();
  /** a benchmark is running (it owns the device until it ends) */
  private bench: { stop: boolean } | null = null;
  /** the user's dataset: replaced only by a successful upload */
  private uploaded: Dataset | null = null;
  /** the last built-in set: the picker's preview and the next start share it */
  private builtin: { key: string; dataset: Promise<Dataset> } | null = null;
  private readonly nextTask: () => Promise<void>;

  constructor(private readonly deps: HostDeps) {
    this.nextTask = deps.nextTask ?? (() => new Promise((resolve) => setTimeout(resolve, 0)));
  }

  /** One message from the page: checked, then handled. Never throws; resolves once the command is taken (not when a run ends). */
  async receive(raw: unknown): Promise<void> {
    const { command, error } = checkCommand(raw);
    if (!command) return this.error(null, error);
    try {
      await this.handle(command);
    } catch (err) {
      // a start that throws is a refused start; any other surprise names no run
      this.error(command.type === 'start' ? command.runId : null, messageOf(err));
    }
  }

  private post(e: WorkerEvent): void {
    this.deps.post(e);
  }

  private error(runId: string | null, message: string): void {
    this.post({ type: 'error', runId, message });
  }

  private async handle(cmd: Command): Promise<void> {
    switch (cmd.type) {
      case 'init': await this.ready(cmd.backend); return;
      case 'start': return this.start(cmd);
      case 'pause': if (this.current(cmd.runId)) this.want = 'pause'; return;
      case 'resume': return this.resume(cmd.runId);
      case 'step': return this.step(cmd.runId);
      case 'reset': return this.reset(cmd.runId);
      case 'setPolicy': return this.setPolicy(cmd);
      case 'forceSwitch': return this.forceSwitch(cmd);
      case 'loadDataset': return this.loadDataset(cmd);
      case 'previewDataset': {
        const source = cmd.config.data.dataset;
        try {
          this.post({ type: 'dataset', source, info: describeDataset(await this.datasetFor(cmd.config)) });
        } catch (err) {
          this.error(null, messageOf(err));
        }
        return;
      }
      case 'bench': return this.runBench(cmd);
      case 'stopBench': if (this.bench) this.bench.stop = true; return;
    }
  }

  private ready(choice: BackendChoice): Promise<BackendInfo> {
    this.backend ??= this.deps.initBackend(choice).then(
      (info) => { this.post({ type: 'ready', backend: info }); return info; },
      (err: unknown) => { this.backend = null; throw err; }, // the next command tries again
    );
    return this.backend;
  }

  /** The worker's run, if it is the one named. */
  private current(runId: string): Run | null {
    return this.run?.id === runId ? this.run : null;
  }

  private state(run: Run, state: RunState): void {
    this.post({ type: 'state', runId: run.id, state, step: run.trainer.stepsDone });
  }

  /** Trainer work that awaits runs one piece at a time: a swap of runs never interleaves with a step. */
  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const next = this.chain.then(work);
    this.chain = next.then(() => {}, () => {});
    return next;
  }

  /** Let go of the current run: its last state to the page (unless it asked for none), its tensors freed. */
  private release(final: RunState | null): void {
    const run = this.run;
    if (!run) return;
    this.run = null;
    if (final) this.state(run, final);
    run.trainer.dispose();
  }

  private datasetFor(config: RunConfig): Promise<Dataset> {
    if (config.data.dataset === 'upload') {
      if (!this.uploaded) return Promise.reject(new DatasetError('no dataset uploaded yet: upload one, or pick synthetic or mnist'));
      return Promise.resolve(this.uploaded);
    }
    const { data, seed, model } = config;
    const key = JSON.stringify([data, seed, model.imageSize, model.channels, model.numClasses]);
    if (this.builtin?.key !== key) {
      const dataset = loadBuiltin(config, this.deps.readPublic);
      dataset.catch(() => { if (this.builtin?.key === key) this.builtin = null; }); // a failure is not kept
      this.builtin = { key, dataset };
    }
    return this.builtin.dataset;
  }

  private async start(cmd: CommandOf<'start'>): Promise<void> {
    if (this.bench) return this.error(cmd.runId, BENCH_BUSY);
    const info = await this.ready('auto');
    const { config, dataset, errors } = await prepareRun(cmd.config, { load: (c) => this.datasetFor(c), memoryBudgetBytes: info.memoryBudgetBytes });
    if (!config) return this.error(cmd.runId, formatErrors(errors));
    this.want = 'stop'; // a run still training stops at its next step boundary
    const run = await this.exclusive(async (): Promise<Run | null> => {
      this.release('stopped');
      this.post({ type: 'started', runId: cmd.runId, config });
      let trainer: Trainer;
      try {
        const emit = (event: EngineEvent) => this.post({ type: 'engine', runId: cmd.runId, event });
        trainer = this.deps.createTrainer ? this.deps.createTrainer(config, dataset, emit) : new Trainer(config, dataset, emit);
      } catch (err) {
        this.error(cmd.runId, `the run could not start: ${messageOf(err)}`);
        this.post({ type: 'state', runId: cmd.runId, state: 'failed', step: 0 });
        return null;
      }
      this.run = { id: cmd.runId, trainer };
      this.want = 'run';
      this.state(this.run, 'running');
      return this.run;
    });
    if (run) this.train(run);
  }

  /** Train in the background until paused, stopped, replaced or done; `steps` bounds it (one step while paused). */
  private train(run: Run, steps?: number): void {
    if (this.looping) return;
    this.looping = true;
    void this.exclusive(() => this.loop(run, steps));
  }

  private async loop(run: Run, steps?: number): Promise<void> {
    const t = run.trainer;
    const total = t.config.schedule.steps;
    try {
      for (let bound = steps; ; bound = undefined) {
        await t.run(bound ?? total - t.stepsDone, async () => {
          await this.nextTask();
          return this.want === 'run' && this.run === run;
        });
        // a resume that came during a single step carries on from here
        if (bound === undefined || this.want !== 'run' || this.run !== run || t.stepsDone >= total) break;
      }
    } catch (err) {
      // the engine threw mid-step: this run cannot go on, its state is unknown
      this.looping = false;
      if (this.run !== run) return;
      this.error(run.id, `the run failed at step ${t.stepsDone}: ${messageOf(err)}`);
      this.release('failed');
      return;
    }
    this.looping = false;
    if (this.run !== run || this.want === 'stop') return; // whoever stopped it lets go of it
    if (t.divergence) this.release('stopped'); // the engine's `diverged` event, forwarded, says why
    else if (t.stepsDone >= total) this.release('done');
    else this.state(run, 'paused');
  }

  private resume(runId: string): void {
    const run = this.current(runId);
    if (!run) return;
    if (this.bench) return this.error(runId, BENCH_BUSY);
    this.want = 'run';
    this.state(run, 'running');
    this.train(run);
  }

  private step(runId: string): void {
    const run = this.current(runId);
    if (!run || this.looping) return;
    if (this.bench) return this.error(runId, BENCH_BUSY);
    this.want = 'pause';
    this.train(run, 1);
  }

  private async reset(runId: string): Promise<void> {
    if (!this.current(runId)) return;
    this.want = 'stop';
    await this.exclusive(async () => {
      if (this.current(runId)) this.release(null); // the page has dropped it already
    });
  }

  private setPolicy(cmd: CommandOf<'setPolicy'>): void {
    const run = this.current(cmd.runId);
    if (!run) return this.error(null, `no run "${cmd.runId}" in the worker (it ended or was replaced): the change applies to the next run`);
    const { applied, errors } = run.trainer.setPolicy(cmd.update);
    if (!applied) return this.error(run.id, formatErrors(errors));
    this.post({ type: 'policy', runId: run.id, step: run.trainer.stepsDone, update: applied });
  }

  private async forceSwitch(cmd: CommandOf<'forceSwitch'>): Promise<void> {
    const run = this.current(cmd.runId);
    if (!run) return this.error(null, `no run "${cmd.runId}" in the worker (it ended or was replaced): start a run first`);
    try {
      run.trainer.forceSwitch(cmd.module);
    } catch (err) {
      return this.error(run.id, messageOf(err));
    }
    // paused: the run is at a step boundary, so the switch happens now; else at the next step
    if (!this.looping) await this.exclusive(() => (this.run === run ? run.trainer.applyForced() : Promise.resolve()));
  }

  private async loadDataset(cmd: CommandOf<'loadDataset'>): Promise<void> {
    try {
      const files = cmd.files.map((f) => ({ name: f.name, path: f.path, bytes: new Uint8Array(f.bytes) }));
      // a quarter of the device's memory at most (navigator.deviceMemory, where the browser tells it)
      const deviceMemory = (globalThis.navigator as { deviceMemory?: number } | undefined)?.deviceMemory;
      const limit = pageDataLimit(deviceMemory);
      this.uploaded = await datasetFromFiles(files, { imageSize: cmd.imageSize, seed: cmd.seed, limit, decode: this.deps.decode });
      this.post({ type: 'dataset', source: 'upload', info: describeDataset(this.uploaded) });
    } catch (err) {
      this.error(null, err instanceof DatasetError ? err.message : `could not read the upload: ${messageOf(err)}`);
    }
  }

  /** The benchmark, on this worker's backend. A paused run stays as it is. */
  private async runBench(cmd: CommandOf<'bench'>): Promise<void> {
    const failed = (message: string) => this.post({ type: 'bench', status: { state: 'failed', message } });
    if (this.bench) return failed('a benchmark is running already');
    if (cmd.config.data.dataset === 'upload') return failed('the benchmark runs on the built-in sets: pick synthetic or mnist');
    if (this.looping) return failed('a run is training: pause it first, the benchmark needs the device to itself');
    const bench = (this.bench = { stop: false });
    try {
      const info = await this.ready('auto');
      this.post({ type: 'bench', status: { state: 'running', done: 0, total: BENCH_VARIANTS.length * cmd.seeds, label: 'starting' } });
      const report = await runBench({
        base: cmd.config, preset: cmd.preset, seeds: cmd.seeds, backend: info.name, device: info.adapter?.description ?? '',
        memoryBudgetBytes: info.memoryBudgetBytes, load: (c) => this.datasetFor(c), shouldStop: () => bench.stop, yieldBetween: this.nextTask,
        onProgress: (p) => this.post({ type: 'bench', status: { state: 'running', done: p.done, total: p.total, label: p.label } }),
      });
      this.post({ type: 'bench', status: { state: 'done', report } });
    } catch (err) {
      if (err instanceof BenchStopped) this.post({ type: 'bench', status: { state: 'stopped' } });
      else failed(messageOf(err));
    } finally {
      this.bench = null;
    }
  }
}
