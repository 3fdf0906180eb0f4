// The six linear modules of a ViT block, by their PreLoRA family name (no tfjs here,
// so the config and the page can name them without loading the engine).
export const FAMILIES = ['query', 'key', 'value', 'output', 'fc1', 'fc2'] as const;
export type Family = (typeof FAMILIES)[number];

/** Each family's module path inside a block, as the Hub's ViT checkpoints name it. */
export const HUB_PATH: Record<Family, string> = {
  query: 'attention.attention.query',
  key: 'attention.attention.key',
  value: 'attention.attention.value',
  output: 'attention.output.dense',
  fc1: 'intermediate.dense',
  fc2: 'output.dense',
};

/**
 * The model's other modules, as the Hub's ViT checkpoints name them: the patch
 * embedding, each block (its LayerNorms and its attention inside it), the final
 * LayerNorm and the classifier. Declared once: the model names its variables by them,
 * the Hub layout lists them, the bench groups launches by them.
 */
export const MODULE_PATH = {
  patchEmbed: 'vit.embeddings.patch_embeddings.projection',
  block: (layer: number) => `vit.encoder.layer.${layer}`,
  layernormBefore: 'layernorm_before',
  layernormAfter: 'layernorm_after',
  attention: 'attention.attention',
  finalNorm: 'vit.layernorm',
  classifier: 'classifier',
} as const;

/** A module's path inside its block (`attention.attention.query`), or null for one outside the blocks. */
export function pathInBlock(name: string): string | null {
  return /^vit\.encoder\.layer\.\d+\.(.+)$/.exec(name)?.[1] ?? null;
}
