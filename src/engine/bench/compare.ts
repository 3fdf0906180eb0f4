// tfjs against the PyTorch reference (bench/torch_reference.py), phase by phase: the
// full phase of the `full` run against PyTorch's full training, and the LoRA phase of
// the static `lora` run (the same rank on every block linear) against PyTorch's LoRA.
// Both must have run one model, batch and rank (from one `bench --print-config`): the
// reference's file is checked to be one, and a report that carries its config is checked
// against it field by field.
import * as v from 'valibot';
import { firstIssue } from '../issue';
import { figure, ratio, ReportError, runOf, type BenchReport } from './report';

/** The model's fields that set its shape, and so what a step costs: both sides must agree on each. */
export const MODEL_SHAPE = ['imageSize', 'patchSize', 'channels', 'width', 'depth', 'heads', 'mlpRatio', 'numClasses'] as const;

const SHAPE = v.looseObject(Object.fromEntries(MODEL_SHAPE.map((k) => [k, v.number()])) as Record<(typeof MODEL_SHAPE)[number], v.NumberSchema<undefined>>);

const PHASE = v.looseObject({
  samplesPerSec: v.number(),
  hostMsPerStep: v.number(),
  deviceMsPerStep: v.nullable(v.number()),
  peakBytes: v.nullable(v.number()),
  trainableShare: v.number(),
});

/** What torch_reference.py writes with --out, as far as the comparison reads it. */
const TORCH_REFERENCE = v.looseObject({
  torch: v.string(),
  cuda: v.nullable(v.string()),
  device: v.string(),
  batchSize: v.number(),
  rank: v.number(),
  /** the families given adapters (references written before it was kept have none) */
  targets: v.optional(v.array(v.string())),
  model: SHAPE,
  phases: v.looseObject({ full: PHASE, lora: PHASE }),
});

export interface TorchPhase {
  samplesPerSec: number;
  hostMsPerStep: number;
  /** summed kernel time of one step (profiler), ms */
  deviceMsPerStep: number | null;
  peakBytes: number | null;
  trainableShare: number;
}

/** What torch_reference.py writes with --out: the config's model among it. */
export interface TorchReference {
  torch: string;
  cuda: string | null;
  device: string;
  batchSize: number;
  rank: number;
  /** the families given adapters; absent in references written before it was kept */
  targets?: string[];
  model: Record<(typeof MODEL_SHAPE)[number], number>;
  phases: { full: TorchPhase; lora: TorchPhase };
}

/** The part of a report's config the comparison reads (a report written before it carried one has none). */
const REPORT_CONFIG = v.looseObject({ model: SHAPE, prelora: v.looseObject({ rank: v.number(), targets: v.array(v.string()) }) });

export const REFERENCE_FIX = 'give a reference that torch_reference.py --out FILE wrote';

/** `json` as a PyTorch reference, or a throw naming `file` and the first field that is not one. */
export function readTorchReference(json: unknown, file: string): TorchReference {
  const r = v.safeParse(TORCH_REFERENCE, json);
  if (!r.success) throw new ReportError(`${file} is not a PyTorch reference (${firstIssue(r.issues)}): ${REFERENCE_FIX}`);
  return r.output;
}

/** The files compared, for the refusals (a test gives none). */
export interface ComparedFiles { tfjs: string; torch: string }
const UNNAMED: ComparedFiles = { tfjs: 'the tfjs report', torch: 'the PyTorch reference' };

/**
 * Throws, naming the files and the field, where the two did not run one model, batch and
 * rank. Returns whether the model and rank were checked: a report written before it
 * carried its config has its batch alone.
 */
export function checkSameRun(report: BenchReport, torch: TorchReference, files: ComparedFiles = UNNAMED): boolean {
  const differ = (what: string, field: string | null, ours: unknown, theirs: unknown) => new ReportError(
    `${files.tfjs} and ${files.torch} ran different ${what} (${field ? `${field}: ` : ''}tfjs ${ours}, PyTorch ${theirs}): run both from one --print-config`);
  if (report.batchSize !== torch.batchSize) throw differ('batches', null, report.batchSize, torch.batchSize);
  if (report.config === undefined) return false;
  const cfg = v.safeParse(REPORT_CONFIG, report.config);
  if (!cfg.success) throw new ReportError(`${files.tfjs}: ${firstIssue(cfg.issues, 'config')}: give a report that npm run bench -- --out FILE wrote`);
  const { model, prelora } = cfg.output;
  const key = MODEL_SHAPE.find((k) => model[k] !== torch.model[k]);
  if (key) throw differ('models', `model.${key}`, model[key], torch.model[key]);
  if (prelora.rank !== torch.rank) throw differ('LoRA ranks', 'prelora.rank', prelora.rank, torch.rank);
  // the LoRA phase adapts these families only on both sides: other targets, other work
  const families = (ts: readonly string[]) => [...ts].sort().join(',');
  if (torch.targets && families(prelora.targets) !== families(torch.targets)) {
    throw differ('LoRA targets', 'prelora.targets', families(prelora.targets), families(torch.targets));
  }
  return true;
}

export interface PhaseComparison {
  phase: 'full' | 'lora';
  tfjs: { samplesPerSec: number | null; hostMsPerStep: number | null; deviceMsPerStep: number | null };
  torch: TorchPhase;
  /** tfjs samples/s as a fraction of PyTorch's */
  fraction: number | null;
}

/** Both phases side by side; throws where the two did not run one model, batch and rank (checkSameRun). */
export function compareWithTorch(report: BenchReport, torch: TorchReference, files: ComparedFiles = UNNAMED): PhaseComparison[] {
  checkSameRun(report, torch, files);
  return sideBySide(report, torch);
}

/** Both phases side by side, the runs already checked to match. */
function sideBySide(report: BenchReport, torch: TorchReference): PhaseComparison[] {
  const full = runOf(report, 'full');
  const lora = runOf(report, 'lora');
  const side = (run: typeof full, phase: 'full' | 'lora') => ({
    samplesPerSec: run?.samplesPerSec[phase] ?? null,
    hostMsPerStep: run?.hostMsPerStep[phase] ?? null,
    deviceMsPerStep: run?.deviceMsPerStep[phase] ?? null,
  });
  return (['full', 'lora'] as const).map((phase) => {
    const tfjs = side(phase === 'full' ? full : lora, phase);
    const t = torch.phases[phase];
    return { phase, tfjs, torch: t, fraction: ratio(tfjs.samplesPerSec, t.samplesPerSec) };
  });
}

export function comparisonTable(report: BenchReport, torch: TorchReference, files: ComparedFiles = UNNAMED): string {
  const n = (x: number | null, d = 1) => figure(x, d);
  const checked = checkSameRun(report, torch, files);
  const rows = sideBySide(report, torch).map((c) =>
    `| ${report.preset} | ${c.phase === 'full' ? 'full' : `LoRA (rank ${torch.rank})`} | ${n(c.tfjs.samplesPerSec, 0)} | ${n(c.torch.samplesPerSec, 0)} | ` +
    `${figure(c.fraction && 100 * c.fraction, 1, '%')} | ${n(c.tfjs.hostMsPerStep)} / ${n(c.tfjs.deviceMsPerStep)} | ` +
    `${n(c.torch.hostMsPerStep)} / ${n(c.torch.deviceMsPerStep)} |`);
  return [
    `tfjs (${report.backend}, ${report.device || 'unknown device'}) against PyTorch ${torch.torch} eager fp32 (${torch.device}), batch ${report.batchSize}` +
      (checked ? '' : ` (${files.tfjs} carries no config, written before reports carried one: its model and rank are not checked against PyTorch's)`),
    '',
    '| preset | phase | tfjs samples/s | PyTorch samples/s | tfjs / PyTorch | tfjs ms/step host / device | PyTorch ms/step host / device |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}
