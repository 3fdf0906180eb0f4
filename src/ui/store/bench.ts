// Bench slice: the in-page benchmark (full vs static LoRA vs PreLoRA on the person's
// own backend): what to run, its progress, and the report the worker sends back.
import type { StateCreator } from 'zustand';
import { BENCH_PAGE_NAMES, checkBench, type BenchProblem } from '../../engine/bench/check';
import type { BenchPreset, BenchReport } from '../../engine/bench/report';
import { PRESETS, readNumber } from '../../engine/config';
import type { BenchStatus } from '../../worker/protocol';
import type { PlaygroundState } from './index';

export interface BenchSlice {
  benchPreset: BenchPreset;
  benchSteps: number;
  benchSeeds: number;
  /** the latest status from the worker; `idle` before the first benchmark */
  benchStatus: BenchStatus | { state: 'idle' };
  /** the last finished report: kept while the next one runs, so nothing measured is lost */
  benchReport: BenchReport | null;
  /** the message for a steps or seeds field typed wrong: the benchmark waits until it is good */
  benchErrors: Partial<Record<BenchNumber, string>>;
  /** parse and check a typed steps or seeds: a good value is taken, a bad one refused with its message */
  setBenchField: (name: BenchNumber, raw: string) => void;
  setBench: (patch: Partial<Pick<BenchSlice, 'benchPreset' | 'benchSteps' | 'benchSeeds'>>) => void;
  applyBenchStatus: (s: BenchStatus) => void;
}

export type BenchNumber = 'steps' | 'seeds';

/** A whole number within bounds, or the reason it is not one. */
export function checkBenchNumber(name: BenchNumber, raw: string): number | string {
  const [problem] = checkBench({ [name]: raw }, BENCH_PAGE_NAMES);
  return problem ? problem.message : readNumber(raw);
}

/** What the benchmark would run, checked as a whole: the seeds it runs from the page's seed, on the page's dataset. */
export function benchProblems(s: PlaygroundState): BenchProblem[] {
  return checkBench({ steps: s.benchSteps, seeds: s.benchSeeds, firstSeed: s.seed, dataset: s.dataset }, BENCH_PAGE_NAMES);
}

/** The message each steps or seeds field shows: what was typed wrong, else what is wrong with its value among the rest. */
export function benchFieldError(s: PlaygroundState, name: BenchNumber): string | undefined {
  return s.benchErrors[name] ?? benchProblems(s).find((p) => p.field === name)?.message;
}

export const createBenchSlice: StateCreator<PlaygroundState, [], [], BenchSlice> = (set) => ({
  benchPreset: 'nano',
  benchSteps: PRESETS.nano.schedule.steps,
  benchSeeds: 1,
  benchStatus: { state: 'idle' },
  benchReport: null,
  benchErrors: {},
  setBenchField: (name, raw) => set((s) => {
    const v = checkBenchNumber(name, raw);
    const errors = { ...s.benchErrors };
    delete errors[name];
    if (typeof v === 'string') return { benchErrors: { ...errors, [name]: v } };
    return { benchErrors: errors, ...(name === 'steps' ? { benchSteps: v } : { benchSeeds: v }) };
  }),
  setBench: (patch) => set((s) => ({
    ...patch,
    // a new preset brings its own step budget (and its field shows it) unless steps are set in the same patch
    ...(patch.benchPreset && patch.benchPreset !== s.benchPreset && patch.benchSteps === undefined
      ? { benchSteps: PRESETS[patch.benchPreset].schedule.steps, benchErrors: s.benchErrors.seeds === undefined ? {} : { seeds: s.benchErrors.seeds } } : {}),
  })),
  applyBenchStatus: (status) => set(status.state === 'done' ? { benchStatus: status, benchReport: status.report } : { benchStatus: status }),
});
