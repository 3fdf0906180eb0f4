// Whether a restored run runs on this device: its settings as changed live (and a
// branch's change), its adapters' ranks and the most tensors a step of it may update,
// checked as a new run's config is (validateConfig), but on the modules as saved. A checkpoint may hold what its config alone does not say: an
// adapter outside prelora.targets (a switch by hand before such switches were limited to
// the targets), a rank a larger device took. Refused here with the reason, not at the
// device mid-run, and before the worker lets go of its current run; the run as saved
// stays saved.
import { formatErrors, validateConfig, type ModelConfig, type PreLoRAConfig, type RunConfig } from '../config';
import type { deviceLimits } from '../device-limits';
import { resolveUpdate, type PolicyUpdate } from '../live';
import type { TrainingState } from './format';
import type { Phase } from '../events';
import { countTensors } from '../size';
import { maySwitch } from '../stepper';

interface SavedModule {
  id: string;
  phase: Phase;
  rank: number | null;
}

/** The first reason the saved modules do not run here, or null. */
export function restoredMisfit(model: ModelConfig, settings: Pick<PreLoRAConfig, 'mode' | 'targets'>, modules: readonly SavedModule[], limits: ReturnType<typeof deviceLimits>): string | null {
  const { maxLoraRank, maxTrainableTensors } = limits;
  const over = maxLoraRank === undefined ? undefined : modules.find((m) => m.rank !== null && m.rank > maxLoraRank);
  if (over) {
    return `${over.id} has a rank-${over.rank} adapter, more than this device's WebGPU kernels take (LoRA ranks up to ${maxLoraRank}, ` +
      'set by its workgroup memory): resume it with backend webgpu-composite, or on the device it trained on';
  }
  // an adapter beside a trained base adds two tensors: every joint module, and under
  // PreLoRA every targeted module still full (it may switch: a baseline's modules do not,
  // so a full run that started deep enough was refused its resume); a frozen base's two
  // leave as its adapter's come
  const beside = modules.filter((m) => m.phase === 'joint' || (m.phase === 'full' && maySwitch(settings, m.id))).length;
  const most = countTensors(model, beside);
  if (maxTrainableTensors !== undefined && most > maxTrainableTensors) {
    return `its modules make up to ${most} tensors to update a step, more than this device's WebGPU optimiser holds (${maxTrainableTensors}): ` +
      'resume it with backend webgpu-composite';
  }
  return null;
}

/**
 * The first reason a checkpoint's run (with a branch's `update`, which may be what makes
 * it fit) does not run here, or null: from its plain data, before any trainer is made.
 */
export function restoreProblem(config: RunConfig, saved: Pick<TrainingState['controller'], 'settings'> & { modules: readonly SavedModule[] }, limits: ReturnType<typeof deviceLimits>, update?: PolicyUpdate): string | null {
  const settings = { ...saved.settings, ...(update ? resolveUpdate(update, saved.settings) : {}) };
  // a branch's new maxRank is held to the width; the run's own is as it ran
  const errors = validateConfig({ ...config, prelora: settings }, { ...limits, ranWith: saved.settings });
  if (errors.length) return `its settings as changed live${update ? ' with the branch\'s' : ''} do not run here: ${formatErrors(errors)}`;
  return restoredMisfit(config.model, settings, saved.modules, limits);
}
