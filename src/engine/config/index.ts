// The run config in one import: its types and value sets, the presets, merging,
// validation and the formatting of sizes. No tfjs: the page imports it.
export * from './types';
export * from './presets';
export * from './merge';
export * from './validate';
export * from './format';
export * from './number';
