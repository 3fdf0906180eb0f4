// The training worker's logic, apart from the Worker global so that Node tests drive
// it: one engine, one run at a time (a finished run stays until the next starts, so its
// model can be exported), its checkpoints (every schedule.checkpointEvery steps, at a
// pause and at the end) and the saved runs it brings back, the benchmark, the user's
// dataset and weights. Each message is
// checked at the boundary first; what a user (or a stray message) gets wrong comes back
// as an `error` event that names it, and no other run's state changes. The backend's
// start, the bundled files and image decoding are injected.
import type { BackendChoice, BackendInfo } from '../engine/backend';
import { BENCH_PAGE_NAMES, checkBench } from '../engine/bench/check';
import { BENCH_VARIANTS } from '../engine/bench/report';
import { BenchStopped, runBench } from '../engine/bench/run';
import { formatErrors, validateConfig, type RunConfig } from '../engine/config';
import { loadBuiltin, NO_UPLOAD, previewSynthetic, type PublicReader } from '../engine/data/builtin';
import type { Dataset } from '../engine/data/dataset';
import { DatasetError } from '../engine/data/errors';
import type { ImageDecoder } from '../engine/data/folder';
import { pageDataLimit, type DataLimit } from '../engine/data/limits';
import { builtinDataKey } from '../engine/data/key';
import { describeDataset } from '../engine/data/preview';
import { forgetLostDevice } from '../engine/device-loss';
import type { EngineEvent, PhaseChange } from '../engine/events';
import { ModelFileError } from '../engine/io/errors';
import { exportRun } from '../engine/io/export';
import { checkInitWeights, initModel, readInitWeights, type InitWeights } from '../engine/io/init-weights';
import { decodeCheckpoint, encodeCheckpoint, RecordTooLargeError, type RunLog } from '../engine/checkpoint/format';
import { branchSettings } from '../engine/checkpoint/branch';
import { restoreProblem } from '../engine/checkpoint/fits';
import { deviceLimits } from '../engine/device-limits';
import { datasetFromFiles } from '../engine/data/upload';
import { prepareRun } from '../engine/prepare';
import { Trainer } from '../engine/trainer';
import { checkCommand } from './boundary';
import { zipExport } from './export-zip';
import { AWAITED_COMMANDS, type AwaitedCommand, type Command, type CommandOf, type RunState, type WorkerEvent } from './protocol';
import { decodeDataset, describeFiles, encodeDataset, identify, keptBytes, MAX_KEPT_DATA_BYTES } from './saved-data';
import { savedRunLock } from './run-locks';
import { StorageFullError, type SavedRunInfo, type SavedRuns, type UserStop } from './saved-runs';
import { messageOf } from '../engine/message-of';

export interface HostDeps {
  /** `transfer`: buffers the event hands over (a model export's zip) */
  post: (e: WorkerEvent, transfer?: Transferable[]) => void;
  initBackend: (choice: BackendChoice) => Promise<BackendInfo>;
  /** files of the served public/ folder (the bundled MNIST) */
  readPublic: PublicReader;
  /** decodes uploaded images (the browser's createImageBitmap); without it image folders are refused */
  decode?: ImageDecoder;
  /** lets messages be heard between two steps; default: the next macrotask */
  nextTask?: () => Promise<void>;
  /** builds a run's trainer (default: the engine's); tests inject faults here */
  createTrainer?: (...args: ConstructorParameters<typeof Trainer>) => Trainer;
  /** where runs are saved (IndexedDB); without it nothing is saved */
  openSaved?: () => Promise<SavedRuns>;
  /** hold a lock other tabs see until the function returned is called (run-locks.ts): the live run's saved entry is in use here */
  holdLock?: (name: string) => () => void;
  /** whether a lock is held, in this tab or another */
  lockHeld?: (name: string) => Promise<boolean>;
  /** the largest uploaded dataset (decoded bytes) kept with a saved run; default MAX_KEPT_DATA_BYTES */
  keepDataUpTo?: number;
  /** the largest checkpoint header (tests only: a run's record outgrows it sooner); default the format's */
  checkpointHeaderBytes?: number;
}

interface Run {
  id: string;
  trainer: Trainer;
  /** its phase changes so far: the export's plan needs them */
  changes: PhaseChange[];
  /** everything it reported, and its live changes: a checkpoint keeps them for the charts */
  log: RunLog;
  /** what its checkpoints are saved and listed under */
  saved: { id: string; name: string; preset: string | null; init: string | null };
  /** the uploaded data it trains on, once kept with its saved run (or found too large to keep) */
  data?: SavedRunInfo['data'];
  /** its record outgrew a checkpoint: it only grows, so no later save is tried */
  outgrown?: boolean;
}

/**
 * How long a run trains without word before the page is told its step (`tick`): small on
 * wasm takes seconds a step, and its progress comes every logEvery (10) steps, so the
 * step count stood still for tens of seconds. On a GPU progress comes more often, and no
 * tick is sent; on wasm a step is done when it is counted, on a GPU it is on its way.
 */
export const TICK_MS = 1000;

const BENCH_BUSY = 'a benchmark is running: stop it (or let it finish) first';
/** The awaited command a message is (or claims to be), for its error to say so: a refused upload still ends the page's wait. */
const awaited = (raw: unknown): AwaitedCommand | undefined => {
  const type = (raw as { type?: unknown } | null)?.type;
  return AWAITED_COMMANDS.find((c) => c === type);
};

export class TrainingHost {
  private backend: Promise<BackendInfo> | null = null;
  /** the backend asked for first: a new device after a lost one is made the same way */
  private backendChoice: BackendChoice = 'auto';
  /** the run training or paused */
  private run: Run | null = null;
  /** the last run, finished: kept (tensors and all) until another starts or it is reset, for its export */
  private kept: Run | null = null;
  /** the held run the page was last told of */
  private heldId: string | null = null;
  /** what the loop does at the next step boundary */
  private want: 'run' | 'pause' | 'stop' = 'pause';
  private looping = false;
  /** trainer work that awaits (the loop, a forced switch while paused, a swap of runs, a save, an export, the benchmark), one at a time */
  private chain: Promise<void> = Promise.resolve();
  /** a benchmark is running or waits its turn in `chain` (it owns the device until it ends) */
  private bench: { stop: boolean } | null = null;
  /** the user's dataset: replaced only by a successful upload */
  private uploaded: Dataset | null = null;
  /**
   * The files each uploaded dataset was made from, by name (an upload's, or a saved run's
   * kept data's): a run's saves name its own data's files, not those of an upload made
   * since it started (which its resume would then have asked for).
   */
  private readonly filesOf = new WeakMap<Dataset, string>();
  /** the weights the next runs start from: replaced only by a successful load */
  private weights: InitWeights | null = null;
  /** the last built-in set: the picker's preview and the next start share it */
  private builtin: { key: string; dataset: Promise<Dataset> } | null = null;
  private readonly nextTask: () => Promise<void>;
  /** the lock held on the live run's saved entry (lockLive) */
  private locked: { id: string; release: () => void } | null = null;
  /** when the page last heard the training run's step (a progress event or a tick) */
  private stepShownAt = 0;
  private savedRuns: Promise<SavedRuns> | null = null;
  /** runs being prepared (preparing), by id */
  private readonly starting = new Map<string, { reset: boolean }>();

  constructor(private readonly deps: HostDeps) {
    this.nextTask = deps.nextTask ?? (() => new Promise((resolve) => setTimeout(resolve, 0)));
  }

  /** One message from the page: checked, then handled. Never throws; resolves once the command is taken (not when a run ends). */
  async receive(raw: unknown): Promise<void> {
    let checked: ReturnType<typeof checkCommand>;
    try {
      checked = checkCommand(raw);
    } catch (err) {
      return this.error(null, `a message the worker could not read: ${messageOf(err)}`, awaited(raw));
    }
    const { command, error } = checked;
    if (!command) return this.error(null, error, awaited(raw));
    try {
      await this.handle(command);
    } catch (err) {
      // a start that throws is a refused start; any other surprise names no run
      this.error(command.type === 'start' ? command.runId : null, messageOf(err), awaited(command));
    }
  }

  private post(e: WorkerEvent, transfer?: Transferable[]): void {
    this.deps.post(e, transfer);
  }

  /** Tell the page which run's model the worker holds, when that changes. */
  private held(): void {
    this.lockLive();
    const id = this.run?.id ?? this.kept?.id ?? null;
    if (id === this.heldId) return;
    this.heldId = id;
    this.post({ type: 'held', run: id });
  }

  /**
   * Hold the lock on the live run's saved entry (training or paused; not a finished one),
   * and only it: another tab then neither offers it as interrupted nor resumes it into the
   * same entry (both saved into it). The browser lets it go with the worker.
   */
  private lockLive(): void {
    const id = this.run?.saved.id ?? null;
    if (this.locked?.id === id) return;
    this.locked?.release();
    this.locked = id !== null && this.deps.holdLock ? { id, release: this.deps.holdLock(savedRunLock(id)) } : null;
  }

  /** `about`: the awaited command this error answers in place of its answer (the page ends that wait, and only that one). */
  private error(runId: string | null, message: string, about?: AwaitedCommand): void {
    this.post({ type: 'error', runId, message, ...(about ? { about } : {}) });
  }

  private async handle(cmd: Command): Promise<void> {
    switch (cmd.type) {
      case 'init': await this.ready(cmd.backend); return;
      case 'start': return this.preparing(cmd.runId, () => this.start(cmd));
      case 'restore': case 'branch': return this.preparing(cmd.runId, () => this.restore(cmd));
      case 'pause': if (this.current(cmd.runId)) this.want = 'pause'; return;
      case 'resume': return this.resume(cmd.runId);
      case 'step': return this.step(cmd.runId);
      case 'reset': return this.reset(cmd.runId);
      case 'setPolicy': return this.setPolicy(cmd);
      case 'forceSwitch': return this.forceSwitch(cmd);
      case 'loadDataset': return this.loadDataset(cmd);
      case 'previewDataset': {
        const source = cmd.config.data.dataset;
        // checked as a start checks it: the message's were only types, and a synthetic
        // set of -1 channels threw a RangeError, one of 1e-9 drew 10^10 pixels (the worker hung)
        const errors = validateConfig(cmd.config);
        if (errors.length) return this.error(null, formatErrors(errors));
        try {
          // a synthetic set is described without being made (previewSynthetic)
          const info = source === 'synthetic'
            ? previewSynthetic(cmd.config, this.dataLimit())
            : describeDataset(await this.datasetFor(cmd.config));
          this.post({ type: 'dataset', source, info, key: builtinDataKey(cmd.config) });
        } catch (err) {
          this.error(null, messageOf(err));
        }
        return;
      }
      case 'bench': return this.runBench(cmd);
      case 'stopBench': if (this.bench) this.bench.stop = true; return;
      case 'exportModel': return this.exportModel(cmd);
      case 'loadWeights': return this.loadWeights(cmd);
      case 'clearWeights':
        this.weights = null;
        this.post({ type: 'weights', weights: null });
        return;
    }
  }

  private ready(choice: BackendChoice): Promise<BackendInfo> {
    if (!this.backend) this.backendChoice = choice;
    this.backend ??= this.deps.initBackend(choice).then(
      (info) => { this.post({ type: 'ready', backend: info }); return info; },
      (err: unknown) => { this.backend = null; throw err; }, // the next command tries again
    );
    return this.backend;
  }

  /**
   * `work` (a start, a restore or a branch) with its run id among those being prepared,
   * so that a reset the page sends meanwhile (it drops the run at once) is not lost: a run
   * reset before it was made went on training unseen, its saves listed on the page, and
   * a benchmark was refused until it ended.
   */
  private async preparing(runId: string, work: () => Promise<void>): Promise<void> {
    const entry = { reset: false };
    this.starting.set(runId, entry);
    try {
      await work();
    } finally {
      if (this.starting.get(runId) === entry) this.starting.delete(runId);
    }
  }

  /** Whether the run being prepared as `runId` may be made: not if the page has reset it meanwhile. */
  private startsNow(runId: string): boolean {
    return !this.starting.get(runId)?.reset;
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
    this.held();
  }

  /** The run the worker holds paused (not training, not finished), if any: what a start asked for now would replace. */
  private pausedRun(): Run | null {
    return this.looping ? null : this.run;
  }

  /**
   * Inside `exclusive`, before run `runId` (a start, a restore, a branch) is made: whether
   * it is to be made. The current run is replaced, unless the page took `runId` back (its
   * Reset came while its data loaded) and the current run was `paused` when it was asked
   * for: that run stays paused, as the user left it (it was marked "replaced" by a run that
   * never came). A run that was training had stopped for it already: it is replaced all the same.
   */
  private async makeWay(runId: string, paused: Run | null): Promise<boolean> {
    if (!this.startsNow(runId) && paused && this.run === paused) {
      this.want = 'pause';
      return false;
    }
    await this.replace();
    return this.startsNow(runId);
  }

  /** Make way for a new run (a start, a restore, a branch): the current run stops, as the user's doing; the finished one goes. */
  private async replace(): Promise<void> {
    const run = this.run;
    this.release('stopped');
    this.dropKept();
    if (run) await this.stoppedByUser(run, 'replaced');
  }

  /**
   * The user stopped `run` (after `release`): its saved run records it, so that the page
   * lists it as stopped (still resumable), not as interrupted by a reload or a crash (a
   * reset run was offered after a reload as "interrupted"). None if it was never saved.
   */
  private async stoppedByUser(run: Run, by: UserStop['by']): Promise<void> {
    const opening = this.saved();
    if (!opening) return;
    try {
      const info = await (await opening).markStopped(run.saved.id, { step: run.trainer.stepsDone, by });
      if (info) this.post({ type: 'saved', runId: run.id, info });
    } catch (err) {
      this.error(null, `could not record that "${run.saved.name}" was stopped (a reload will call it interrupted; it still resumes): ${messageOf(err)}`);
    }
  }

  /** Let go of the finished run kept for its export. */
  private dropKept(): void {
    this.kept?.trainer.dispose();
    this.kept = null;
    this.held();
  }

  /** The page's data limit, for an upload and a built-in set alike: a quarter of the device's memory at most (navigator.deviceMemory, where the browser tells it). */
  private dataLimit(): DataLimit {
    const deviceMemory = (globalThis.navigator as { deviceMemory?: number } | undefined)?.deviceMemory;
    return pageDataLimit(deviceMemory);
  }

  private datasetFor(config: RunConfig): Promise<Dataset> {
    if (config.data.dataset === 'upload') {
      if (!this.uploaded) return Promise.reject(new DatasetError(NO_UPLOAD));
      return Promise.resolve(this.uploaded);
    }
    const key = builtinDataKey(config);
    if (this.builtin?.key !== key) {
      const dataset = loadBuiltin(config, this.deps.readPublic, this.dataLimit());
      dataset.catch(() => { if (this.builtin?.key === key) this.builtin = null; }); // a failure is not kept
      this.builtin = { key, dataset };
    }
    return this.builtin.dataset;
  }

  private async start(cmd: CommandOf<'start'>): Promise<void> {
    if (this.bench) return this.error(cmd.runId, BENCH_BUSY);
    const info = await this.ready('auto');
    const { config, dataset, errors } = await prepareRun(cmd.config, { load: (c) => this.datasetFor(c), memoryBudgetBytes: info.memoryBudgetBytes, kernels: info.kernels });
    if (!config) return this.error(cmd.runId, formatErrors(errors));
    const weights = this.weights;
    if (weights) {
      try {
        checkInitWeights(weights, config.model);
      } catch (err) {
        if (!(err instanceof ModelFileError)) throw err;
        return this.error(cmd.runId, `the loaded weights do not fit this run: ${err.message}; or clear the weights to start from a fresh model`);
      }
    }
    const paused = this.pausedRun();
    this.want = 'stop'; // a run still training stops at its next step boundary
    const run = await this.exclusive(async (): Promise<Run | null> => {
      // a benchmark asked for while this start was prepared has the device: this run does not take it
      if (this.bench) {
        this.error(cmd.runId, BENCH_BUSY);
        return null;
      }
      if (!(await this.makeWay(cmd.runId, paused))) return null;
      this.post({ type: 'started', runId: cmd.runId, config, init: weights?.file ?? null });
      let trainer: Trainer;
      const changes: PhaseChange[] = [];
      const log: RunLog = { events: [], policyChanges: [] };
      try {
        const emit = this.emitter(cmd.runId, changes, log);
        const prepare = weights ? initModel(weights) : undefined;
        trainer = this.deps.createTrainer ? this.deps.createTrainer(config, dataset, emit, prepare) : new Trainer(config, dataset, emit, prepare);
      } catch (err) {
        this.error(cmd.runId, `the run could not start: ${messageOf(err)}`);
        this.post({ type: 'state', runId: cmd.runId, state: 'failed', step: 0 });
        return null;
      }
      const startedAt = Date.now();
      this.run = { id: cmd.runId, trainer, changes, log, saved: { id: `${startedAt}-${cmd.runId}`, name: cmd.name ?? `run of ${new Date(startedAt).toISOString()}`, preset: cmd.preset ?? null, init: weights?.file ?? null } };
      this.want = 'run';
      this.state(this.run, 'running');
      this.held();
      return this.run;
    });
    if (run) this.train(run);
  }

  /** Train in the background until paused, stopped, replaced or done; `steps` bounds it (one step while paused). */
  private train(run: Run, steps?: number): void {
    if (this.looping) return;
    this.looping = true;
    this.stepShownAt = Date.now(); // its state said where it starts
    void this.exclusive(() => this.loop(run, steps));
  }

  private async loop(run: Run, steps?: number): Promise<void> {
    const t = run.trainer;
    const total = t.config.schedule.steps;
    try {
      for (let bound = steps; ; bound = undefined) {
        await t.run(bound ?? total - t.stepsDone, async () => {
          await this.nextTask();
          this.tick(run);
          const every = t.config.schedule.checkpointEvery;
          if (every > 0 && t.stepsDone % every === 0 && t.stepsDone < total && this.run === run) await this.save(run, 'interval');
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
    if (await this.letGoIfLost(run)) return;
    if (t.divergence) this.release('stopped'); // the engine's `diverged` event, forwarded, says why
    else if (t.stepsDone >= total) {
      this.run = null;
      this.kept = run; // the held run still: its model can be exported
      this.lockLive(); // finished: nothing more is saved into it
      this.state(run, 'done');
      await this.save(run, 'done');
      await this.letGoIfLost(run); // the device went under its last save: its weights went with it
    } else {
      this.state(run, 'paused');
      await this.save(run, 'pause');
      await this.letGoIfLost(run); // the device went under the pause's save
    }
  }

  /** The run's step to the page, if neither its progress nor a tick said it for TICK_MS. */
  private tick(run: Run): void {
    const now = Date.now();
    if (now - this.stepShownAt < TICK_MS) return;
    this.stepShownAt = now;
    this.post({ type: 'tick', runId: run.id, step: run.trainer.stepsDone });
  }

  /** Whether the worker still holds `run` (training or paused, or finished and kept for its export). */
  private holds(run: Run): boolean {
    return this.run === run || this.kept === run;
  }

  /**
   * If the GPU device of a run the worker holds was lost (mid-run, under a save, a switch
   * by hand or an export, paused or finished): the run is let go, failed (its tensors
   * went with the device), a new device is made as the first one was (the backend
   * registered again; wasm if no WebGPU adapter is left), and the page is told what
   * happened and which step its last checkpoint resumes from; the page offers that
   * checkpoint (a failed run's), and a `restore` brings it back on the new device.
   * Whether it let the run go.
   */
  private async letGoIfLost(run: Run): Promise<boolean> {
    const loss = run.trainer.deviceLoss;
    if (!loss || !this.holds(run)) return false;
    const opening = this.saved();
    const saved = opening ? (await (await opening).list()).find((r) => r.id === run.saved.id) : undefined;
    if (this.kept === run) {
      this.state(run, 'failed');
      this.dropKept();
    } else this.release('failed'); // the run it holds (holds)
    forgetLostDevice();
    this.backend = null;
    let now: string;
    try {
      const info = await this.ready(this.backendChoice);
      now = `a new ${info.name} device is ready`;
    } catch (err) {
      now = `no new device could be made (${messageOf(err)}): reload the page`;
    }
    const after = saved && saved.step >= loss.step ? 'it holds every step trained' : 'the steps after it are trained again';
    const back = saved
      ? `resume it from its checkpoint at step ${saved.step} (saved runs: "${saved.name}"); ${after}`
      : 'it had no checkpoint yet: start it again';
    this.error(run.id, `${loss.message} after step ${loss.step}; ${now}: ${back}`);
    return true;
  }

  /** Each event of a run: to the page, into its log (and its phase changes). */
  private emitter(runId: string, changes: PhaseChange[], log: RunLog): (event: EngineEvent) => void {
    return (event) => {
      if (event.type === 'phase') changes.push(event.change);
      if (event.type === 'progress') this.stepShownAt = Date.now();
      log.events.push(event);
      this.post({ type: 'engine', runId, event });
    };
  }

  private saved(): Promise<SavedRuns> | null {
    if (!this.deps.openSaved) return null;
    this.savedRuns ??= this.deps.openSaved();
    this.savedRuns.catch(() => { this.savedRuns = null; }); // the next save tries again
    return this.savedRuns;
  }

  /**
   * Save the run's whole training state (between two steps) under its saved id. A failure
   * (a full quota: the message says what to delete) is reported, and the run goes on.
   */
  private async save(run: Run, reason: SavedRunInfo['reason']): Promise<void> {
    const opening = this.saved();
    // past a refusal for its size every save was refused again, each after seconds of
    // encoding (a nano run at a window a step: 3.8-3.9 s at step 11,000 in Node on a 2-core
    // VM, the encode alone), with the same message
    if (!opening || run.trainer.divergence || run.trainer.deviceLoss || run.outgrown) return;
    try {
      // the save's read-back, encoding and storage are not the run's training time
      await run.trainer.untimed('checkpoint', async () => {
        const store = await opening;
        const { config, state, tensors } = await run.trainer.exportState();
        const bytes = encodeCheckpoint({ config, state, tensors, log: run.log }, this.deps.checkpointHeaderBytes);
        const backend = (await this.ready('auto')).name;
        // every checkpoint but the last is also a branch point (a what-if branch starts from one)
        const data = await this.keepData(store, run);
        const info = await store.save({ ...run.saved, step: state.step, reason, savedAt: Date.now(), backend, config, data }, bytes, reason !== 'done');
        run.saved.name = info.name; // renamed on the page: keep its name
        this.post({ type: 'saved', runId: run.id, info });
      });
    } catch (err) {
      // the read-back the save ended may have found the run diverged: its `diverged` event says so, no save was due
      if (run.trainer.divergence) return;
      // a device lost under it: the run is let go with a message that says so (letGoIfLost)
      if (run.trainer.deviceLoss) return;
      if (err instanceof RecordTooLargeError) run.outgrown = true;
      const later = run.outgrown ? ' (no later save of this run is tried: its record only grows)' : '';
      this.error(run.id, err instanceof StorageFullError ? err.message : `could not save the run at step ${run.trainer.stepsDone}: ${messageOf(err)}${later}`);
    }
  }

  /**
   * A run on uploaded data keeps that data with its saved run, once (it does not change),
   * so that it resumes without an upload; data larger than MAX_KEPT_DATA_BYTES is only
   * identified (name, images, CRC-32), and its resume asks for the same files again.
   */
  private async keepData(store: SavedRuns, run: Run): Promise<SavedRunInfo['data']> {
    const dataset = run.trainer.dataset;
    if (run.trainer.config.data.dataset !== 'upload') return null;
    if (run.data) return run.data;
    const size = keptBytes(dataset);
    const kept = size <= (this.deps.keepDataUpTo ?? MAX_KEPT_DATA_BYTES);
    const id = identify(dataset, this.filesOf.get(dataset) ?? '');
    if (kept) await store.saveData(run.saved.id, run.saved.name, encodeDataset(dataset, id.crc32));
    run.data = { ...id, kept, bytes: kept ? size : 0 };
    return run.data;
  }

  /**
   * The uploaded data a saved run trained on: kept with it, or the upload there is now
   * if it is the same data (its CRC-32); else an error that says what to upload. Null
   * for a run on a built-in set.
   */
  private async dataFor(store: SavedRuns, info: SavedRunInfo, config: RunConfig): Promise<Dataset | null> {
    if (config.data.dataset !== 'upload') return null;
    const what = `saved run "${info.name}"`;
    const data = info.data;
    if (data?.kept) {
      const bytes = await store.readData(info.id);
      if (bytes) {
        const kept = decodeDataset(bytes, what);
        this.filesOf.set(kept, data.name); // a branch's saves name its parent's files
        return kept;
      }
    }
    const again = data ? `upload ${data.name} again (${data.images} images)` : 'upload them again';
    // kept, and gone since: deleted (in another tab, say) or cleared by the browser, not too large
    const why = !data ? '' : data.kept ? ' kept with it, now gone from this browser' : ' too large to keep with it';
    if (!this.uploaded) throw new DatasetError(`${what} trained on uploaded files${why}: ${again}, then resume it`);
    const now = identify(this.uploaded, this.filesOf.get(this.uploaded) ?? '');
    if (data && now.crc32 !== data.crc32) {
      throw new DatasetError(`${what} trained on other data than the upload there is now (${now.name}, ${now.images} images, CRC-32 ${now.crc32}; it trained on CRC-32 ${data.crc32}): ${again}, then resume it`);
    }
    return this.uploaded;
  }

  /**
   * Bring back a saved run as `runId`, paused at the step it was saved (done, if it had
   * finished): its checkpoint read and checked whole, its data loaded again, a fresh
   * trainer restored from it. A checkpoint that cannot be restored is refused with the
   * reason; the worker's current run is left as it was. A branch is the same from one
   * of its branch points, then its settings applied as a live change at that step (so
   * it goes on as the run would have with that change made there), saved as a new run,
   * and training at once.
   */
  private async restore(cmd: CommandOf<'restore'> | CommandOf<'branch'>): Promise<void> {
    const branch = cmd.type === 'branch' ? cmd : null;
    if (this.bench) return this.error(cmd.runId, BENCH_BUSY);
    const opening = this.saved();
    if (!opening) return this.error(cmd.runId, 'this worker cannot read saved runs (no IndexedDB)');
    const store = await opening;
    const info = (await store.list()).find((r) => r.id === cmd.savedId);
    const bytes = info ? await (branch ? store.readPoint(cmd.savedId, branch.step) : store.read(cmd.savedId)) : null;
    if (!info) return this.error(cmd.runId, `saved run "${cmd.savedId}" is gone (deleted in another tab?)`);
    // live in another tab (its worker holds its lock): both would save into one entry. A branch is a saved run of its own
    if (!branch && this.locked?.id !== info.id && await this.deps.lockHeld?.(savedRunLock(info.id))) {
      return this.error(cmd.runId, `saved run "${info.name}" is live in another tab of this page: reset it there (or close that tab) to resume it here`);
    }
    if (!bytes) return this.error(cmd.runId, `saved run "${info.name}" has no checkpoint at step ${branch?.step ?? info.step} (deleted in another tab?)`);
    let checkpoint: ReturnType<typeof decodeCheckpoint>;
    try {
      checkpoint = decodeCheckpoint(bytes, `saved run "${info.name}"`);
    } catch (err) {
      return this.error(cmd.runId, `${messageOf(err)}; the other saved runs are not affected`);
    }
    let uploaded: Dataset | null;
    try {
      uploaded = await this.dataFor(store, info, checkpoint.config);
    } catch (err) {
      return this.error(cmd.runId, messageOf(err));
    }
    const hw = await this.ready('auto');
    const load = (c: RunConfig) => (uploaded ? Promise.resolve(uploaded) : this.datasetFor(c));
    // its ranks and window as it ran: a run of an older page is not held to a bound that came
    // later (a rank past the width, a record past a checkpoint's), which refused its resume
    const { config, dataset, errors } = await prepareRun(checkpoint.config, { load, memoryBudgetBytes: hw.memoryBudgetBytes, kernels: hw.kernels, ranWith: checkpoint.config.prelora });
    if (!config) return this.error(cmd.runId, `saved run "${info.name}" cannot run here: ${formatErrors(errors)}`);
    const problem = restoreProblem(config, checkpoint.state.controller, deviceLimits(), branch?.update);
    if (problem) return this.error(cmd.runId, `saved run "${info.name}" cannot run here: ${problem}; the other saved runs are not affected`);
    const paused = this.pausedRun();
    this.want = 'stop';
    await this.exclusive(async () => {
      if (this.bench) return this.error(cmd.runId, BENCH_BUSY); // as a start's
      if (!(await this.makeWay(cmd.runId, paused))) return;
      const changes = checkpoint.log.events.flatMap((e) => (e.type === 'phase' ? [e.change] : []));
      const log: RunLog = { events: [...checkpoint.log.events], policyChanges: [...checkpoint.log.policyChanges] };
      const emit = this.emitter(cmd.runId, changes, log);
      let restoring = true;
      let trainer: Trainer | null = null;
      try {
        // what a fresh trainer reports before the checkpoint's state is in (its step-0 params) is not this run's
        trainer = new Trainer(config, dataset, (e) => { if (!restoring) emit(e); });
        trainer.importState(checkpoint);
        if (branch) log.policyChanges.push(branchSettings(trainer, branch.update));
      } catch (err) {
        trainer?.dispose();
        this.error(cmd.runId, `saved run "${info.name}" could not be restored: ${messageOf(err)}; the other saved runs are not affected`);
        this.post({ type: 'state', runId: cmd.runId, state: 'failed', step: 0 });
        return;
      }
      restoring = false;
      // the weights it started from stay said (a resumed run's row lost "started from model.safetensors")
      const init = info.init ?? null;
      const saved = branch ? { id: `${Date.now()}-${cmd.runId}`, name: branch.name, preset: info.preset, init } : { id: info.id, name: info.name, preset: info.preset, init };
      // a branch is a saved run of its own: its data is written again under its id at its first save
      const run: Run = { id: cmd.runId, trainer, changes, log, saved, data: branch ? undefined : info.data };
      this.post({ type: 'started', runId: run.id, config: checkpoint.config, init });
      this.post({ type: 'restored', runId: run.id, events: checkpoint.log.events, policyChanges: checkpoint.log.policyChanges });
      if (branch) {
        this.post({ type: 'policy', runId: run.id, ...log.policyChanges.at(-1)! });
        this.run = run;
        this.want = 'run';
        this.state(run, 'running');
      } else if (trainer.stepsDone >= config.schedule.steps) {
        this.kept = run;
        this.state(run, 'done');
      } else {
        this.run = run;
        this.want = 'pause';
        this.state(run, 'paused');
      }
      this.held();
    });
    if (branch && this.run?.id === cmd.runId) this.train(this.run);
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
    const prepared = this.starting.get(runId);
    if (prepared) prepared.reset = true; // the page dropped it while its data loaded: it is never made (startsNow)
    if (this.kept?.id === runId) {
      // its last save (or an export) may be reading it still: it goes once they end
      return this.exclusive(async () => {
        if (this.kept?.id === runId) this.dropKept();
      });
    }
    if (!this.current(runId)) return;
    this.want = 'stop';
    await this.exclusive(async () => {
      const run = this.current(runId);
      if (!run) return;
      this.release(null); // the page has dropped it already
      await this.stoppedByUser(run, 'reset'); // its checkpoints stay: nothing trained goes without a word
    });
  }

  private setPolicy(cmd: CommandOf<'setPolicy'>): void {
    const run = this.current(cmd.runId);
    if (!run) return this.error(null, `no run "${cmd.runId}" in the worker (it ended or was replaced): the change applies to the next run`);
    const { applied, errors } = run.trainer.setPolicy(cmd.update);
    if (!applied) return this.error(run.id, formatErrors(errors));
    run.log.policyChanges.push({ step: run.trainer.stepsDone, update: applied });
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
    if (this.looping) return;
    await this.exclusive(async () => {
      if (this.run !== run) return;
      try {
        await run.trainer.applyForced();
        await this.letGoIfLost(run); // the device went while it switched
      } catch (err) {
        // as a throw mid-step: the switch stopped half-way (adapters added, the phase not
        // recorded), so this run cannot go on; its last checkpoint still resumes it
        this.error(run.id, `the run failed at step ${run.trainer.stepsDone}, switching ${cmd.module} by hand: ${messageOf(err)}`);
        this.release('failed');
      }
    });
  }

  private async loadDataset(cmd: CommandOf<'loadDataset'>): Promise<void> {
    try {
      const files = cmd.files.map((f) => ({ name: f.name, path: f.path, bytes: new Uint8Array(f.bytes) }));
      this.uploaded = await datasetFromFiles(files, { imageSize: cmd.imageSize, seed: cmd.seed, limit: this.dataLimit(), decode: this.deps.decode });
      this.filesOf.set(this.uploaded, describeFiles(files));
      this.post({ type: 'dataset', source: 'upload', info: describeDataset(this.uploaded) });
    } catch (err) {
      this.error(null, err instanceof DatasetError ? err.message : `could not read the upload: ${messageOf(err)}`, 'loadDataset');
    }
  }

  /** The held run's model as the engine exports it (the CLI's --export), zipped; at a step boundary, never mid-step. */
  private async exportModel(cmd: CommandOf<'exportModel'>): Promise<void> {
    const run = this.run?.id === cmd.runId ? this.run : this.kept?.id === cmd.runId ? this.kept : null;
    if (!run) {
      return this.error(null, 'the worker holds only the latest run\'s model (and none after a crash, a reset or a divergence): ' +
        'this run\'s metrics and plan still export from the page', 'exportModel');
    }
    if (this.bench) return this.error(run.id, BENCH_BUSY, 'exportModel');
    if (this.looping) return this.error(run.id, 'the run is training: pause it to export its model (the export reads it between two steps)', 'exportModel');
    const info = await this.ready('auto');
    const files = await this.exclusive(async () => {
      // let go while the export waited its turn (behind a finished run's last save): by a
      // reset or a new run, or by a device lost under that save, which the page was told
      // of with the checkpoint to go back to (the export's refusal would have replaced that line)
      if (!this.holds(run)) {
        // (let go, the worker posted `held` without it: that ends the page's wait too)
        if (!run.trainer.deviceLoss) this.error(run.id, 'the run was let go (reset, or a new run) before its export could read it: nothing was exported', 'exportModel');
        return null;
      }
      try {
        return await exportRun(run.trainer, run.changes, { naming: cmd.naming, backend: info.name });
      } catch (err) {
        if (await this.letGoIfLost(run)) return null; // the export found the device lost
        throw err;
      }
    });
    if (!files) return;
    const zip = zipExport(files);
    this.post({ type: 'model', runId: run.id, zip: zip.buffer as ArrayBuffer, files: files.map((f) => f.path), naming: cmd.naming }, [zip.buffer as ArrayBuffer]);
  }

  /** Weights for the next runs: read and checked whole, and against the next run's model when it can be prepared; a bad file keeps the previous weights. */
  private async loadWeights(cmd: CommandOf<'loadWeights'>): Promise<void> {
    try {
      const weights = readInitWeights(cmd.files.map((f) => ({ name: f.name, bytes: new Uint8Array(f.bytes) })));
      // the model follows the data: check against the config as it would run, if it can be prepared now
      const prepared = await prepareRun(cmd.config, { load: (c) => this.datasetFor(c) }).catch(() => null);
      const { ignored } = prepared?.config ? checkInitWeights(weights, prepared.config.model) : { ignored: '' };
      this.weights = weights;
      const { file, bytes, tensors, config } = weights;
      this.post({ type: 'weights', weights: { file, bytes, tensors: tensors.size, config: config?.file ?? null, ignored } });
    } catch (err) {
      this.error(null, err instanceof ModelFileError ? err.message : `could not read the weights: ${messageOf(err)}`, 'loadWeights');
    }
  }

  /**
   * The benchmark, on this worker's backend. A paused run stays as it is. It is trainer
   * work like the rest: it waits for what a pause set going (the paused run's save, an
   * export, a switch by hand), so that no two trainers share the device's step at once.
   */
  private async runBench(cmd: CommandOf<'bench'>): Promise<void> {
    const failed = (message: string) => this.post({ type: 'bench', status: { state: 'failed', message } });
    if (this.bench) return failed('a benchmark is running already');
    // the page checked these with the same rule: its names, should a message get past it
    const refused = checkBench({ steps: cmd.config.schedule.steps, seeds: cmd.seeds, firstSeed: cmd.config.seed, dataset: cmd.config.data.dataset }, BENCH_PAGE_NAMES);
    if (refused.length) return failed(refused.map((p) => p.message).join('\n'));
    if (this.looping) return failed('a run is training: pause it first, the benchmark needs the device to itself');
    const bench = (this.bench = { stop: false }); // from now on a start, resume or step is refused
    return this.exclusive(() => this.benchmark(cmd, bench, failed));
  }

  private async benchmark(cmd: CommandOf<'bench'>, bench: { stop: boolean }, failed: (message: string) => void): Promise<void> {
    try {
      if (bench.stop) throw new BenchStopped(); // stopped while it waited its turn
      const info = await this.ready('auto');
      this.post({ type: 'bench', status: { state: 'running', done: 0, total: BENCH_VARIANTS.length * cmd.seeds, label: 'starting' } });
      const report = await runBench({
        base: cmd.config, preset: cmd.preset, seeds: cmd.seeds, firstSeed: cmd.config.seed, backend: info.name, kernels: info.kernels, device: info.adapter?.description ?? '',
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
