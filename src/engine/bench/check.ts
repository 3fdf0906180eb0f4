// What a benchmark may run, checked once for the CLI, the page and the worker: its steps,
// seeds, first seed and dataset, as ConfigErrors that name each field as the caller does.
import { BUILTIN_DATASETS, orList, readNumber, RUN_LIMITS, type ConfigError } from '../config';
import { BENCH_MIN_STEPS } from './report';

/** A benchmark's own settings: each a number, or the text typed for it. */
export interface BenchPlan {
  steps: number | string;
  seeds: number | string;
  /** the first seed: the benchmark runs seeds firstSeed .. firstSeed + seeds - 1 */
  firstSeed: number | string;
  dataset: string;
}
export type BenchField = keyof BenchPlan;

/** What each front end calls a field: the flag, or the page's field. */
export type BenchNames = Record<BenchField, string>;

/** The config's own names (the engine's, where no front end names them). */
export const BENCH_CONFIG_NAMES: BenchNames = { steps: 'schedule.steps', seeds: 'seeds', firstSeed: 'seed', dataset: 'data.dataset' };

/** The page's names (its benchmark fields, and the page's seed and dataset it runs on): the page and its worker say these. */
export const BENCH_PAGE_NAMES: BenchNames = { steps: 'benchmark steps', seeds: 'benchmark seeds', firstSeed: 'seed', dataset: 'dataset' };

/** A problem with a benchmark's settings: `field` says which, `path` names it as the caller does. */
export type BenchProblem = ConfigError & { field: BenchField };

/** Each number's least and most (seeds: the seed range bounds them, checked with the first seed). */
const BOUNDS: Record<'steps' | 'seeds' | 'firstSeed', readonly [number, number]> = {
  steps: [BENCH_MIN_STEPS, RUN_LIMITS.steps],
  seeds: [1, Infinity],
  firstSeed: [0, RUN_LIMITS.seed],
};

const valueOf = (v: number | string): number => (typeof v === 'number' ? v : readNumber(v));
const shown = (v: number | string): string => (typeof v === 'number' ? String(v) : `"${v}"`);

/**
 * The problems with the settings given (any of them: a field left out is not checked):
 * each number whole and within its bounds, every seed the benchmark runs a seed there
 * is, and a built-in dataset (the report names the data it ran on).
 */
export function checkBench(plan: Partial<BenchPlan>, names: BenchNames = BENCH_CONFIG_NAMES): BenchProblem[] {
  const problems: BenchProblem[] = [];
  const problem = (field: BenchField, message: string) => problems.push({ field, path: names[field], message: `${names[field]} ${message}` });
  const good: Partial<Record<keyof typeof BOUNDS, number>> = {};
  for (const field of Object.keys(BOUNDS) as (keyof typeof BOUNDS)[]) {
    const raw = plan[field];
    if (raw === undefined) continue;
    const v = valueOf(raw);
    const [min, max] = BOUNDS[field];
    if (Number.isInteger(v) && v >= min && v <= max) good[field] = v;
    else problem(field, `takes a whole number ${max === Infinity ? `>= ${min}` : `in [${min}, ${max}]`} (got ${shown(raw)})`);
  }
  const { seeds, firstSeed } = good;
  if (seeds !== undefined && firstSeed !== undefined && firstSeed + seeds - 1 > RUN_LIMITS.seed) {
    problem('seeds', `${seeds} from ${names.firstSeed} ${firstSeed} run seeds past ${RUN_LIMITS.seed}, the largest seed: lower either`);
  }
  if (plan.dataset !== undefined && !(BUILTIN_DATASETS as readonly string[]).includes(plan.dataset)) {
    problem('dataset', `must be ${orList(BUILTIN_DATASETS)}: the benchmark runs on the built-in sets`);
  }
  return problems;
}
