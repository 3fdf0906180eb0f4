// A run's export, as files in memory (the CLI writes them to a folder; the page will
// zip them): the merged model, the un-merged base with its PEFT adapter, the PreLoRA
// plan and the interop bundle. The model is read back once (`snapshotModel`); all the
// rest is pure.
import * as tf from '@tensorflow/tfjs';
import type { Batch, Split } from '../data/dataset';
import type { PhaseChange } from '../events';
import type { Trainer } from '../trainer';
import { asJson, adapterFiles, modelFiles, type ExportFile } from './export-model';
import { NAMING_LABEL, type PeftNaming } from './hf-names';
import { interopBatch, interopBundle } from './interop';
import { buildPlan, type PlanInput } from './plan';
import { snapshotModel, type ModelSnapshot } from './snapshot';

export type { ExportFile } from './export-model';

export interface ExportOptions {
  /** module names of the PEFT adapter: transformers 5 (default) or 4 */
  naming: PeftNaming;
  /** the backend that ran, recorded with the interop logits */
  backend: string;
}

export const EXPORT_DIRS = { merged: 'model', base: 'base', adapter: 'adapter' } as const;

function readme(s: ModelSnapshot, naming: PeftNaming, hasAdapter: boolean): string {
  const { merged, base, adapter } = EXPORT_DIRS;
  const adapterPart = hasAdapter
    ? `- \`${base}/\`: the same model without the adapters: every module's base weight as
  it was when it froze (a frozen base no longer changes), everything else as trained.
- \`${adapter}/\`: the PEFT LoRA adapter for \`${base}/\` (${s.adapters.length} modules), with
  PreLoRA's ranks and alphas in \`rank_pattern\` / \`alpha_pattern\`. Module names:
  ${NAMING_LABEL[naming]}.
`
    : `- No adapter: no module switched to LoRA in this run, so \`${merged}/\` is the whole model.
`;
  return `# PreLoRA Playground export

- \`${merged}/\`: a Hugging Face \`ViTForImageClassification\` (model.safetensors,
  config.json, preprocessor_config.json) with the LoRA adapters merged:
  \`ViTForImageClassification.from_pretrained("${merged}")\`.
${adapterPart}- \`plan.json\`: the PreLoRA plan: per module the switch step, the statistics that
  decided it, the rank; and \`peft\`: \`LoraConfig\` keyword arguments (for transformers
  5 and 4) to apply the same adapters with \`get_peft_model\`.
- \`interop.safetensors\`: ${s.logits?.shape[0] ?? 0} test images (\`pixel_values\` as HF's ViT takes
  them, \`images\` as raw pixels) and this engine's \`logits\` for them.

Check that PyTorch gives the same logits (needs torch, transformers, peft, safetensors):

    bash test/interop/check.sh EXPORT_DIR
`;
}

export interface ExportInput {
  snapshot: ModelSnapshot;
  classes: string[];
  plan: PlanInput;
  /** the interop inputs the snapshot's logits belong to */
  test: Split;
  shape: [number, number, number];
  batch: Batch;
}

/** Every file of an export, from plain data. */
export function buildExport(input: ExportInput, opts: ExportOptions): ExportFile[] {
  const { snapshot: s, classes } = input;
  const hasAdapter = s.adapters.length > 0;
  const files = [...modelFiles(s, classes, EXPORT_DIRS.merged, true)];
  if (hasAdapter) {
    files.push(...modelFiles(s, classes, EXPORT_DIRS.base, false));
    files.push(...adapterFiles(s, opts.naming, EXPORT_DIRS.adapter, EXPORT_DIRS.base));
  }
  files.push({ path: 'plan.json', contents: asJson(buildPlan(input.plan)) });
  if (s.logits) {
    const meta = { producer: 'prelora-playground', backend: opts.backend, peft_names: opts.naming };
    files.push({ path: 'interop.safetensors', contents: interopBundle(input.test, input.shape, input.batch, s.logits, meta) });
  }
  files.push({ path: 'README.md', contents: readme(s, opts.naming, hasAdapter) });
  return files;
}

/** Read the trainer's model back once (with its logits on the interop images) and build the export; a diverged run has none. */
export async function exportRun(trainer: Trainer, changes: PhaseChange[], opts: ExportOptions): Promise<ExportFile[]> {
  await trainer.settledFor('export'); // as a checkpoint: what is on its way read back first
  const { dataset } = trainer;
  const batch = interopBatch(dataset.test, dataset.shape);
  const x = tf.tensor4d(batch.images, [batch.size, ...dataset.shape]);
  const snapshot = await trainer.readFor('export', () => snapshotModel(trainer.model, x)).finally(() => x.dispose());
  const plan: PlanInput = {
    settings: trainer.settings, totalSteps: trainer.config.schedule.steps, step: trainer.stepsDone,
    states: [...trainer.modules.values()], changes, history: trainer.history,
  };
  return buildExport({ snapshot, classes: dataset.classes, plan, test: dataset.test, shape: dataset.shape, batch }, opts);
}
