// The six linear modules of a ViT block, by their PreLoRA family name (no tfjs here,
// so the config and the page can name them without loading the engine).
export const FAMILIES = ['query', 'key', 'value', 'output', 'fc1', 'fc2'] as const;
export type Family = (typeof FAMILIES)[number];
