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
