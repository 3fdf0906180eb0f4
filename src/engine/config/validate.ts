// Validation of a run's config: every problem by its field path, with what to change,
// and the one way such problems become text for a person (CLI, page, worker, bench).
import type { KernelPath } from '../backend';
import { LAYER_WEIGHTINGS, METRICS, RANK_METRICS, RANK_SCOPES, RULES } from '../policy';
import { RECORD_LIMIT, recordOverflow, recordShape } from '../record-size';
import { countTensors, estimateMemory } from '../size';
import { FAMILIES } from '../vit-families';
import { formatBytes, formatCount, orList } from './format';
import {
  BUILTIN_DATASETS, DATASETS, MODES, RUN_LIMITS,
  type DataConfig, type ModelConfig, type OptimConfig, type PreLoRAConfig, type RunConfig, type ScheduleConfig,
} from './types';

export interface ConfigError {
  /** dotted field path, e.g. `model.patchSize`, or what the user named it by (`--dataset`) */
  path: string;
  message: string;
  /** the other fields whose change alone mends it, where the message names some (the page names it at each) */
  fixedBy?: string[];
}

/** One line per problem: `path: message`, unless the message already starts with its path. */
export function formatErrors(errors: readonly ConfigError[]): string {
  return errors.map((e) => (e.message.startsWith(e.path) ? e.message : `${e.path}: ${e.message}`)).join('\n');
}

type Check = (errors: ConfigError[]) => void;

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function intAtLeast(path: string, v: unknown, min: number): Check {
  return (e) => {
    if (!isInt(v) || v < min) e.push({ path, message: `${path} must be a whole number >= ${min} (got ${String(v)})` });
  };
}

function intIn(path: string, v: unknown, min: number, max: number, why = ''): Check {
  return (e) => {
    if (!isInt(v) || v < min || v > max) e.push({ path, message: `${path} must be a whole number in [${min}, ${max}] (got ${String(v)})${why}` });
  };
}

function numIn(path: string, v: unknown, lo: number, hi: number, loOpen = false, hiOpen = false): Check {
  return (e) => {
    const ok = isNum(v) && (loOpen ? v > lo : v >= lo) && (hiOpen ? v < hi : v <= hi);
    if (!ok) {
      const range = `${loOpen ? '(' : '['}${lo}, ${hi}${hiOpen ? ')' : ']'}`;
      e.push({ path, message: `${path} must be a number in ${range} (got ${String(v)})` });
    }
  };
}

function oneOf(path: string, v: unknown, options: readonly unknown[]): Check {
  return (e) => {
    if (!options.includes(v)) e.push({ path, message: `${path} must be one of ${options.join(', ')} (got ${String(v)})` });
  };
}

// not `n & (n - 1)`: that works on the low 32 bits, and took 2^32 + 4 for a power of two
const isPow2 = (n: number) => n > 0 && 2 ** Math.round(Math.log2(n)) === n;

/** The largest power of two at most `n` (1 below 2): the largest maxRank a limit of `n` takes. */
export const pow2AtMost = (n: number) => 2 ** Math.floor(Math.log2(Math.max(1, n)));

/** What a config is checked against beyond itself: the machine and kernels that will run it (each unchecked when absent). */
export interface RunContext {
  /** memory a model may use here: refuses a model whose training would not fit */
  memoryBudgetBytes?: number;
  /** the kernel path that will run it (what a step keeps in memory differs): tfjs's composite tape when absent */
  kernels?: KernelPath;
  /** the largest LoRA rank our WebGPU kernels take on this device (its workgroup memory sets it) */
  maxLoraRank?: number;
  /** the most variables our WebGPU kernels' optimiser updates in a step on this device (its AdamW table) */
  maxTrainableTensors?: number;
  /**
   * the settings the run ran with (a checkpoint's, a run log's, a live run's): a rank
   * equal to the one it ran with is not held to model.width, which pages before 6c0cac3
   * did not ask, so a saved run of those stays resumable; a rank newly set is. Its
   * window length, too, is not held to the record's bound (a run too long for it
   * refuses its save, named, as before the bound); a window newly set is
   */
  ranWith?: Pick<PreLoRAConfig, 'rank' | 'maxRank' | 'windowSteps'>;
}

/**
 * Every problem of a config, each with its field path and what to change. Never
 * throws, whatever the input: a config comes from a URL, a form or a CLI flag.
 * `here`, when given, also refuses what this machine cannot run (RunContext).
 */
export function validateConfig(cfg: RunConfig, here: RunContext = {}): ConfigError[] {
  // a section that is no object reads as missing (each field then named); the whole config must be one
  // (a checkpoint's config of JSON null threw "Cannot read properties of null")
  const raw: unknown = cfg;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    const got = raw === null ? 'null' : Array.isArray(raw) ? 'an array' : typeof raw;
    return [{ path: 'config', message: `config must be an object of model, data, optim, schedule and prelora settings and a seed (got ${got})` }];
  }
  const { memoryBudgetBytes, kernels, maxLoraRank, maxTrainableTensors, ranWith } = here;
  const e: ConfigError[] = [];
  const m = cfg.model ?? ({} as ModelConfig);
  const d = cfg.data ?? ({} as DataConfig);
  const o = cfg.optim ?? ({} as OptimConfig);
  const s = cfg.schedule ?? ({} as ScheduleConfig);
  const p = cfg.prelora ?? ({} as PreLoRAConfig);
  const checks: Check[] = [
    intAtLeast('model.imageSize', m.imageSize, 4),
    intAtLeast('model.patchSize', m.patchSize, 1),
    intAtLeast('model.channels', m.channels, 1),
    intAtLeast('model.width', m.width, 1),
    intAtLeast('model.depth', m.depth, 1),
    intAtLeast('model.heads', m.heads, 1),
    numIn('model.mlpRatio', m.mlpRatio, 0, 16, true),
    intAtLeast('model.numClasses', m.numClasses, 2),
    numIn('model.layerNormEps', m.layerNormEps, 0, 1e-2, true),
    numIn('model.initStd', m.initStd, 0, 1, true),
    intIn('data.trainSize', d.trainSize, 1, RUN_LIMITS.splitImages),
    intIn('data.testSize', d.testSize, 1, RUN_LIMITS.splitImages),
    intIn('data.maxDataMB', d.maxDataMB, 1, RUN_LIMITS.dataMB),
    numIn('data.difficulty', d.difficulty, 0, 1),
    intAtLeast('optim.batchSize', o.batchSize, 1),
    numIn('optim.lr', o.lr, 0, 10, true),
    numIn('optim.beta1', o.beta1, 0, 1, false, true),
    numIn('optim.beta2', o.beta2, 0, 1, false, true),
    numIn('optim.epsilon', o.epsilon, 0, 1, true),
    numIn('optim.weightDecay', o.weightDecay, 0, 1),
    numIn('optim.clipNorm', o.clipNorm, 0, 1e6),
    numIn('optim.labelSmoothing', o.labelSmoothing, 0, 1, false, true),
    intIn('schedule.steps', s.steps, 1, RUN_LIMITS.steps),
    intAtLeast('schedule.warmupSteps', s.warmupSteps, 0),
    numIn('schedule.minLrRatio', s.minLrRatio, 0, 1),
    intAtLeast('schedule.evalEvery', s.evalEvery, 1),
    intIn('schedule.logEvery', s.logEvery, 1, RUN_LIMITS.logEvery, ': the GPU keeps at most that many steps\' losses between read-backs'),
    intIn('schedule.checkpointEvery', s.checkpointEvery, 0, RUN_LIMITS.steps),
    intAtLeast('prelora.rank', p.rank, 1),
    intAtLeast('prelora.minRank', p.minRank, 1),
    intAtLeast('prelora.maxRank', p.maxRank, 1),
    oneOf('prelora.rule', p.rule, RULES),
    oneOf('prelora.metric', p.metric, METRICS),
    numIn('prelora.weightThreshold', p.weightThreshold, 0, 1e6, true),
    numIn('prelora.lossThreshold', p.lossThreshold, 0, 1e6, true),
    oneOf('prelora.useLossTest', p.useLossTest, [true, false]),
    intAtLeast('prelora.patience', p.patience, 2),
    intAtLeast('prelora.minFullSteps', p.minFullSteps, 0),
    oneOf('prelora.layerWeights', p.layerWeights, LAYER_WEIGHTINGS),
    oneOf('prelora.rankMetric', p.rankMetric, RANK_METRICS),
    oneOf('prelora.rankScope', p.rankScope, RANK_SCOPES),
    intAtLeast('prelora.windowSteps', p.windowSteps, 1),
    intAtLeast('prelora.jointSteps', p.jointSteps, 0),
    oneOf('prelora.resetMoments', p.resetMoments, [true, false]),
    intAtLeast('prelora.rewarmSteps', p.rewarmSteps, 0),
    intIn('seed', cfg.seed, 0, RUN_LIMITS.seed, ': seeds are 32-bit'),
  ];
  for (const check of checks) check(e);
  const bad = new Set(e.map((x) => x.path));
  const ok = (...paths: string[]) => paths.every((q) => !bad.has(q));

  if (ok('model.imageSize', 'model.patchSize') && m.imageSize % m.patchSize !== 0) {
    e.push({
      path: 'model.patchSize',
      message: `patch ${m.patchSize} does not divide image size ${m.imageSize}: pick a divisor of ${m.imageSize}`,
    });
  }
  if (ok('model.width', 'model.heads') && m.width % m.heads !== 0) {
    e.push({
      path: 'model.heads',
      message: `${m.heads} heads do not divide width ${m.width}: pick a divisor of ${m.width}`,
    });
  }
  if (ok('model.width', 'model.mlpRatio') && !Number.isInteger(m.width * m.mlpRatio)) {
    e.push({ path: 'model.mlpRatio', message: `mlpRatio ${m.mlpRatio} x width ${m.width} must be a whole number` });
  }
  if (!DATASETS.includes(d.dataset)) {
    e.push({ path: 'data.dataset', message: `unknown dataset "${String(d.dataset)}": use ${orList(BUILTIN_DATASETS)}, or give files to upload` });
  }
  // data.trainSize sizes the synthetic set only; prepare checks a loaded set's own count
  if (d.dataset === 'synthetic' && ok('optim.batchSize', 'data.trainSize') && o.batchSize > d.trainSize) {
    e.push({ path: 'optim.batchSize', message: `batch ${o.batchSize} is larger than the ${d.trainSize} training images: lower it` });
  }
  if (d.dataset === 'synthetic' && ok('data.trainSize', 'data.testSize', 'data.maxDataMB', 'model.imageSize', 'model.channels')) {
    const bytes = syntheticBytes(d, m);
    if (bytes > d.maxDataMB * 2 ** 20) {
      e.push({
        path: 'data.trainSize',
        message: `${d.trainSize} + ${d.testSize} synthetic images of ${m.imageSize}x${m.imageSize}x${m.channels} take ${formatBytes(bytes)}, ` +
          `more than data.maxDataMB (${d.maxDataMB} MiB): lower data.trainSize or data.testSize, or raise data.maxDataMB`,
      });
    }
  }
  if (ok('schedule.warmupSteps', 'schedule.steps') && s.warmupSteps > s.steps) {
    e.push({ path: 'schedule.warmupSteps', message: `warm-up of ${s.warmupSteps} steps is longer than the run (${s.steps}): lower it` });
  }
  if (!MODES.includes(p.mode)) {
    e.push({ path: 'prelora.mode', message: `unknown mode "${String(p.mode)}": use ${orList(MODES)}` });
  }
  if (!Array.isArray(p.targets) || p.targets.length === 0 || !p.targets.every((t) => FAMILIES.includes(t))) {
    e.push({ path: 'prelora.targets', message: `prelora.targets must list one or more of ${FAMILIES.join(', ')} (got ${String(p.targets)})` });
  } else {
    // once each: a link's query,query,... passed, and each counted again in the optimiser's table
    const twice = p.targets.find((t, i) => p.targets.indexOf(t) !== i);
    if (twice) e.push({ path: 'prelora.targets', message: `prelora.targets names ${twice} twice: list each family once` });
  }
  if (p.alpha !== null && !(isNum(p.alpha) && p.alpha > 0)) {
    e.push({ path: 'prelora.alpha', message: `prelora.alpha must be a positive number, or null for alpha = rank (got ${String(p.alpha)})` });
  }
  for (const key of ['minRank', 'maxRank'] as const) {
    if (ok(`prelora.${key}`) && !isPow2(p[key])) {
      e.push({ path: `prelora.${key}`, message: `prelora.${key} must be a power of two, e.g. 4, 8, 16 (got ${p[key]})` });
    }
  }
  if (ok('prelora.minRank', 'prelora.maxRank') && p.minRank > p.maxRank) {
    e.push({ path: 'prelora.maxRank', message: `maxRank ${p.maxRank} is below minRank ${p.minRank}: raise maxRank or lower minRank` });
  }
  // full training has no adapter (it takes no switch by hand either: the baseline keeps its shape)
  const rankField = p.mode === 'lora' ? 'rank' : 'maxRank';
  // every adapted linear has model.width on one side, so a rank past it gains nothing; unchecked,
  // a link's rank of 2^28 passed and the first switch threw "Invalid typed array length"
  // (the run lost, the field not named), and 2^20 asked some 12 GB of a nano model
  // (one message a field: not after its power-of-two one)
  const named = e.some((x) => x.path === `prelora.${rankField}`);
  const asRan = ranWith?.[rankField] === p[rankField];
  const widest = !asRan && p.mode !== 'full' && !named && ok(`prelora.${rankField}`, 'model.width') && p[rankField] > m.width;
  if (widest) {
    const fits = rankField === 'maxRank' ? pow2AtMost(m.width) : m.width;
    e.push({
      path: `prelora.${rankField}`,
      message: `prelora.${rankField} ${p[rankField]} is more than model.width (${m.width}): an adapter's rank past its weight's width adds nothing; use ${fits} or lower`,
    });
  }
  if (!widest && p.mode !== 'full' && maxLoraRank !== undefined && ok(`prelora.${rankField}`) && p[rankField] > maxLoraRank) {
    // maxRank is a power of two: name the largest one that fits
    const fits = rankField === 'maxRank' ? pow2AtMost(maxLoraRank) : maxLoraRank;
    e.push({
      path: `prelora.${rankField}`,
      message: `prelora.${rankField} ${p[rankField]} is more than this device's WebGPU kernels take (LoRA ranks up to ${maxLoraRank}, ` +
        `set by its workgroup memory): use ${fits} or lower`,
    });
  }
  // under PreLoRA every targeted linear of every block may train beside its adapter (the
  // joint phase; a hand switch takes targeted modules only); static LoRA freezes each
  // targeted base, its two tensors leaving as its adapter's two come; full training has none
  const targeted = Array.isArray(p.targets) ? new Set(p.targets).size : 0;
  const beside = p.mode === 'prelora' ? targeted : 0;
  const most = ok('model.depth') ? countTensors(m, beside * m.depth) : 0;
  if (maxTrainableTensors !== undefined && most > maxTrainableTensors) {
    const outside = countTensors({ ...m, depth: 0 });
    const fits = Math.floor((maxTrainableTensors - outside) / (countTensors({ ...m, depth: 1 }, beside) - outside));
    e.push({
      path: 'model.depth',
      message: `depth ${m.depth} makes up to ${most} tensors to update a step (${p.mode === 'full' ? 'full training, no adapter' : `${targeted} adapted linears a block${beside ? '' : ', their bases frozen'}`}), ` +
        `more than this device's WebGPU optimiser holds (${maxTrainableTensors}): lower model.depth to ${fits} or fewer, or use backend webgpu-composite`,
    });
  }
  const recordFields = ['schedule.steps', 'schedule.logEvery', 'schedule.evalEvery', 'schedule.checkpointEvery', 'prelora.windowSteps', 'prelora.patience', 'model.depth'];
  if (ranWith?.windowSteps !== p.windowSteps && ok(...recordFields)) {
    const over = recordOverflow(recordShape(cfg), RUN_LIMITS.logEvery);
    if (over) e.push(recordError(over, s, p.windowSteps));
  }
  if (e.length === 0 && memoryBudgetBytes !== undefined) {
    const est = estimateMemory(cfg, kernels);
    if (est.totalBytes > memoryBudgetBytes) {
      e.push({
        path: 'model',
        message:
          `training this model needs about ${formatBytes(est.totalBytes)} (${formatCount(est.params)} parameters, ` +
          `batch ${o.batchSize}) but only ${formatBytes(memoryBudgetBytes)} is available here: ` +
          'choose a smaller preset or lower optim.batchSize',
      });
    }
  }
  return e;
}

/**
 * A run whose record (its events and window history) would outgrow what a checkpoint
 * holds: named on the change that alone brings it under, the longer window first (the
 * read-back's and the steps' the same way), with every such change.
 */
function recordError(over: NonNullable<ReturnType<typeof recordOverflow>>, s: ScheduleConfig, windowSteps: number): ConfigError {
  const fix = (path: string, value: number | null, text: string): [string, string][] => (value === null ? [] : [[path, text]]);
  const fixes = [
    ...fix('prelora.windowSteps', over.windowSteps, `a prelora.windowSteps of ${over.windowSteps} or more`),
    ...fix('schedule.logEvery', over.logEvery, `a schedule.logEvery of ${over.logEvery} or more`),
    ...fix('schedule.checkpointEvery', over.checkpointEvery, `a schedule.checkpointEvery of ${over.checkpointEvery} or more`),
    ...(over.steps >= 1 ? fix('schedule.steps', over.steps, `schedule.steps of ${over.steps} or fewer`) : fix('model.depth', 0, 'a lower model.depth')),
  ];
  return {
    path: fixes[0]![0],
    message: `a run of ${s.steps} steps, a window every ${windowSteps}, a read-back every ${s.logEvery} and ${s.checkpointEvery ? `a save every ${s.checkpointEvery}` : 'no saves between'}, ` +
      `records up to ${formatBytes(over.bytes)} ` +
      `in its checkpoint (${over.windows} windows of ${over.modules} modules, each kept twice, and every step's loss), more than a checkpoint's header ` +
      `holds (${formatBytes(RECORD_LIMIT)}): use ${orList(fixes.map(([, text]) => text))}`,
    fixedBy: fixes.slice(1).map(([path]) => path),
  };
}

/** Bytes of the synthetic set's images, train and test: what the config's and the page's data limits hold it to. */
export function syntheticBytes(d: Pick<RunConfig['data'], 'trainSize' | 'testSize'>, m: Pick<RunConfig['model'], 'imageSize' | 'channels'>): number {
  return (d.trainSize + d.testSize) * m.imageSize ** 2 * m.channels;
}
