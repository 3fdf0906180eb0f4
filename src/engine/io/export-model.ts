// From a snapshot to Hugging Face files (pure): a ViTForImageClassification folder
// (model.safetensors + config.json + preprocessor_config.json), with the LoRA adapters
// merged or left out, and a PEFT adapter folder (adapter_model.safetensors +
// adapter_config.json + README.md) that goes on top of the un-merged one.
import { hubModule, NAMING_LABEL, PEFT_NAMING_MAJOR, PEFT_NAMINGS, peftKey, type PeftNaming } from './hf-names';
import { mergeLoRA, toHub, transpose } from './hf-layout';
import { preprocessorJson, vitConfigJson } from './hf-config';
import { adapterConfigJson } from './peft';
import { writeSafetensors, type WritableTensor } from './safetensors';
import type { ModelSnapshot } from './snapshot';

export interface ExportFile {
  /** relative to the export folder, `/`-separated */
  path: string;
  contents: Uint8Array | string;
}

/** transformers refuses a safetensors checkpoint whose metadata does not say format "pt". */
const CHECKPOINT_METADATA = { format: 'pt' };

export const asJson = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;

/** Every parameter by its Hub name in the Hub's layout; with `merge`, W + (alpha / r) A B. */
export function hubTensors(s: ModelSnapshot, merge: boolean): [string, WritableTensor][] {
  const byWeight = new Map(s.adapters.map((a) => [`${hubModule(a.id)}.weight`, a]));
  return s.params.map(([name, t]) => {
    const a = merge ? byWeight.get(name) : undefined;
    return [name, toHub(name, a ? mergeLoRA(t, a.A, a.B, a.alpha / a.rank) : t, s.config)];
  });
}

/** A ViTForImageClassification folder. */
export function modelFiles(s: ModelSnapshot, classes: string[], dir: string, merge: boolean): ExportFile[] {
  return [
    { path: `${dir}/model.safetensors`, contents: writeSafetensors(hubTensors(s, merge), CHECKPOINT_METADATA) },
    { path: `${dir}/config.json`, contents: asJson(vitConfigJson(s.config, classes)) },
    { path: `${dir}/preprocessor_config.json`, contents: asJson(preprocessorJson(s.config)) },
  ];
}

/** PEFT tensors: lora_A.weight [r, in] = A^T, lora_B.weight [out, r] = B^T. */
export function adapterTensors(s: ModelSnapshot, naming: PeftNaming): [string, WritableTensor][] {
  return s.adapters.flatMap((a) => [
    [peftKey(a.id, naming, 'A'), transpose(a.A)],
    [peftKey(a.id, naming, 'B'), transpose(a.B)],
  ] as [string, WritableTensor][]);
}

function adapterReadme(s: ModelSnapshot, naming: PeftNaming, baseDir: string): string {
  const other = PEFT_NAMINGS.find((n) => n !== naming)!;
  const ranks = [...new Set(s.adapters.map((a) => a.rank))].sort((a, b) => a - b);
  return `# PreLoRA LoRA adapter

A PEFT LoRA adapter for the ViTForImageClassification in \`../${baseDir}/\` (the
weights as they were when each module's base froze; LoRA not merged), made by
PreLoRA Playground: ${s.adapters.length} modules, ranks ${ranks.join(', ')}, each module's rank
and alpha in \`rank_pattern\` / \`alpha_pattern\` of adapter_config.json.

**Module names: ${NAMING_LABEL[naming]}.** PEFT matches an adapter to the modules
as they exist at run time, and transformers 5 renamed the ViT's run-time modules
(checkpoints keep the Hub's names). For transformers ${PEFT_NAMING_MAJOR[other]}.x, export again with
\`--peft-names ${PEFT_NAMING_MAJOR[other]}\`.

\`\`\`python
from transformers import ViTForImageClassification
from peft import PeftModel
base = ViTForImageClassification.from_pretrained("${baseDir}")
model = PeftModel.from_pretrained(base, "adapter")   # or merge: model.merge_and_unload()
\`\`\`
`;
}

/** The adapter folder, for a base exported un-merged in `baseDir`. */
export function adapterFiles(s: ModelSnapshot, naming: PeftNaming, dir: string, baseDir: string): ExportFile[] {
  return [
    { path: `${dir}/adapter_model.safetensors`, contents: writeSafetensors(adapterTensors(s, naming), CHECKPOINT_METADATA) },
    { path: `${dir}/adapter_config.json`, contents: asJson(adapterConfigJson(s.adapters, naming)) },
    { path: `${dir}/README.md`, contents: adapterReadme(s, naming, baseDir) },
  ];
}
