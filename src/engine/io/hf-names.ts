// Where each PreLoRA module (`blocks.<l>.<family>`) lives in Hugging Face's ViT, as
// checked with transformers 5.17 and peft 0.21: checkpoints keep the Hub's names
// (`vit.encoder.layer.N.attention.attention.query`, ...) in both transformers 4 and 5,
// but a PEFT adapter targets modules as they exist at run time, which transformers 5
// renamed (`vit.layers.N.attention.q_proj`, `vit.layers.N.mlp.fc1`); transformers 4
// runs under the Hub's names.
import { parseModuleId } from '../policy';
import { HUB_PATH, MODULE_PATH, type Family } from '../vit-families';

export const PEFT_NAMINGS = ['transformers5', 'transformers4'] as const;
export type PeftNaming = (typeof PEFT_NAMINGS)[number];

/** Each naming's transformers major version: the CLI's `--peft-names` takes it, an export's README names it. */
export const PEFT_NAMING_MAJOR: Record<PeftNaming, string> = { transformers5: '5', transformers4: '4' };

/** transformers 5's run-time module path inside a block */
const V5_PATH: Record<Family, string> = {
  query: 'attention.q_proj',
  key: 'attention.k_proj',
  value: 'attention.v_proj',
  output: 'attention.o_proj',
  fc1: 'mlp.fc1',
  fc2: 'mlp.fc2',
};

/** The module's name in a checkpoint: `vit.encoder.layer.0.attention.attention.query`. */
export function hubModule(id: string): string {
  const { layer, family } = parseModuleId(id);
  return `${MODULE_PATH.block(layer)}.${HUB_PATH[family as Family]}`;
}

/** The module's name at run time, as PEFT sees it: `vit.layers.0.attention.q_proj` (transformers 5). */
export function runtimeModule(id: string, naming: PeftNaming): string {
  if (naming === 'transformers4') return hubModule(id);
  const { layer, family } = parseModuleId(id);
  return `vit.layers.${layer}.${V5_PATH[family as Family]}`;
}

/** A key of `rank_pattern` / `alpha_pattern` / `target_modules`: the run-time name below `vit.` (`layers.0.attention.q_proj`). */
export function patternKey(id: string, naming: PeftNaming): string {
  return runtimeModule(id, naming).slice('vit.'.length);
}

/** A tensor of a PEFT adapter file: `base_model.model.vit.layers.0.attention.q_proj.lora_A.weight`. */
export function peftKey(id: string, naming: PeftNaming, which: 'A' | 'B'): string {
  return `base_model.model.${runtimeModule(id, naming)}.lora_${which}.weight`;
}

export const NAMING_LABEL: Record<PeftNaming, string> = {
  transformers5: 'transformers 5.x (module names such as layers.0.attention.q_proj and layers.0.mlp.fc1)',
  transformers4: 'transformers 4.x (the Hub\'s module names, such as encoder.layer.0.attention.attention.query)',
};
