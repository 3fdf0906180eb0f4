// `npm run bench`: full training, static LoRA and PreLoRA (global and per-module rule)
// on one preset, dataset, backend and step budget, interleaved seed by seed in one
// process (src/engine/bench/run.ts). Prints a markdown table; --json puts one JSON
// object on the last line; --out writes it to a file.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { NODE_BACKEND_CHOICES, type BackendChoice } from '../engine/backend';
import { initNodeBackend } from '../engine/backend-node';
import { benchConfig } from '../engine/bench/config';
import { checkBench, type BenchNames } from '../engine/bench/check';
import { BENCH_PRESETS, BENCH_VARIANTS, benchTable, type BenchPreset } from '../engine/bench/report';
import { runBench } from '../engine/bench/run';
import {
  BUILTIN_DATASETS, formatErrors, makeConfig, orList, readNumber, validateConfig, type BuiltinDataset, type ConfigError,
} from '../engine/config';
import { DatasetError } from '../engine/data/errors';
import { ATTENTION, attentionTileKey, parseAttentionTile } from '../engine/ops/webgpu/attention';
import { ATTENTION_TILED, parseAttentionTiled } from '../engine/ops/webgpu/attention-tiled';
import { GEMM_TILE, GEMM_WIDE, parseGemmTile, parseGemmWide, parseSplitK, SPLIT_K, tileKey } from '../engine/ops/webgpu/gemm';
import { LAYERNORM, parseLayerNormGroups, parseLayerNormRows } from '../engine/ops/webgpu/layernorm';
import { LORA_MERGE, LORA_MERGE_PLACES, MERGE_PLACE_WORDS, parseLoraMerge, parseWgradGroup, WGRAD_GROUP } from '../engine/ops/webgpu/linear';
import { parseThinGrad, THIN_GRAD } from '../engine/ops/webgpu/linear-kernels';
import { NAMED_WGRAD, parseNamedWgrad } from '../engine/ops/webgpu/named-wgrad';
import { NAMED_FORWARD, parseNamedForward } from '../engine/ops/webgpu/named-forward';
import { NAMED_INPUT_GRAD, parseNamedInputGrad } from '../engine/ops/webgpu/named-input-grad';
import { setField } from '../engine/overrides';
import { deviceLimits } from '../engine/device-limits';
import { fitWarmup } from '../engine/schedule';
import { applySetFlags, setsField } from './args';
import { outProblem, say } from './output';
import { loadBuiltinFromDisk } from './load-path';
import { choices, usageText } from './usage';
import { messageOf } from '../engine/message-of';

export const BENCH_USAGE = usageText('npm run bench', [
  [`--preset ${choices(BENCH_PRESETS)}`, 'model and defaults (nano)'],
  [`--dataset ${choices(BUILTIN_DATASETS)}`, 'built-in data (mnist, bundled)'],
  [`--backend ${choices(NODE_BACKEND_CHOICES)}`, "tfjs backend (auto = wasm in Node); webgpu replays a recorded step of fused kernels, webgpu-fused runs them op by op, webgpu-composite runs tfjs's own"],
  ['--steps N', "optimiser steps of every run (the preset's)"],
  ['--seeds N', 'seeds; each runs all four variants (1)'],
  ['--first-seed N', 'the first seed (1): split a long benchmark over processes, then bench:merge'],
  ['--set key=value', 'any config field, e.g. --set optim.batchSize=128 (repeatable)'],
  ['--json', 'the last line of stdout is the report as JSON'],
  ['--out FILE', 'write the report as JSON'],
  ['--print-config', 'print the config as it runs on the data (their image size, channels, classes and counts) as JSON and stop (for the PyTorch reference)'],
  ['--gemm-tile TMxTNxTK/RMxRN', `tuning: the fused kernels' matmul tile (${tileKey()})`],
  ['--gemm-wide MINK/MINROWS/MINTILES[/SIDEMINTILES]|off', `tuning: when a forward or input gradient takes the tile of twice the rows, an adapter's forward from SIDEMINTILES (${GEMM_WIDE.minK}/${GEMM_WIDE.minRows}/${GEMM_WIDE.minTiles}/${GEMM_WIDE.sideMinTiles})`],
  ['--split-k WORKGROUPS[/MINROWS]', `tuning: workgroups a weight gradient's K splits aim for, and the rows a split keeps at least (${SPLIT_K.targetWorkgroups}/${SPLIT_K.minRows})`],
  ['--wgrad-named TILES[/MAXSPLITS]|off', `tuning: the tiles and splits at most of a trained base's weight gradient on a named tile, or off (every one on the GEMM tile) (${NAMED_WGRAD.targetWorkgroups}/${NAMED_WGRAD.maxSplits})`],
  ['--wgrad-group on|off', `tuning: the query's, key's and value's weight gradients in one launch, split for the three, and their sums in one; or each alone (${WGRAD_GROUP.on ? 'on' : 'off'})`],
  ['--forward-named MINN/MINTILES|off', `tuning: the least N and tiles of a forward on the named tile (an adapter's where its merged weight is made ahead), or off (${NAMED_FORWARD.minN}/${NAMED_FORWARD.minTiles})`],
  ['--input-grad-named MINN/MINTILES/MAXK|off', `tuning: the least N and tiles and the most K of a trained base's input gradient on the named tile over its weight transposed (the compiled step), or off (${NAMED_INPUT_GRAD.minN}/${NAMED_INPUT_GRAD.minTiles}/${NAMED_INPUT_GRAD.maxK})`],
  ['--thin-grad LANES/UNROLL', `tuning: threads a column of a LoRA adapter's thin gradients, and rows whose loads a thread issues at once (${THIN_GRAD.lanes}/${THIN_GRAD.unroll})`],
  ['--layernorm-groups N', `tuning: workgroups the LayerNorm backward spreads its rows over (${LAYERNORM.backwardWorkgroups})`],
  ['--layernorm-rows F/B', `tuning: rows the LayerNorm forward / backward take at once (${LAYERNORM.forwardRows}/${LAYERNORM.backwardRows})`],
  [`--lora-merge ${choices(LORA_MERGE_PLACES)}`, 'tuning: where the compiled step makes the LoRA linears\' merged weights: a launch each, shared launches ahead of the forward, or in the products\' loads (batch)'],
  ['--attention-tiled on|off|forward|backward', `tuning: attention's forward and backward (or only the one named) on register tiles, a workgroup a head, where heads are 64 wide and tokens at most 65; else row by row (forward ${ATTENTION_TILED.forward ? 'on' : 'off'}, backward ${ATTENTION_TILED.backward ? 'on' : 'off'})`],
  ['--attention-tile qROWS/sFLOATS[/lLANES][/rF.Q.K][/kF.Q.K]', `tuning: query rows per workgroup (fit: fitted to the tokens), keys' floats staged at once, threads sharing a row where the device has subgroups, then rows a thread and staged keys a step of the forward, query and key/value gradients (one figure: all three), in the attention kernels (${attentionTileKey()})`],
]);

const isOneOf = (xs: readonly string[], v: string | undefined) => xs.includes(v ?? '');

/** The flags that set a benchmark's own settings, for checkBench's messages. */
const FLAG_NAMES: BenchNames = { steps: '--steps', seeds: '--seeds', firstSeed: '--first-seed', dataset: '--dataset' };

async function main(): Promise<number> {
  let v;
  try {
    v = parseArgs({
      options: {
        preset: { type: 'string', default: 'nano' }, dataset: { type: 'string', default: 'mnist' },
        backend: { type: 'string', default: 'auto' }, steps: { type: 'string' }, seeds: { type: 'string', default: '1' },
        'first-seed': { type: 'string', default: '1' },
        set: { type: 'string', multiple: true, default: [] }, json: { type: 'boolean', default: false }, out: { type: 'string' },
        help: { type: 'boolean', default: false }, 'print-config': { type: 'boolean', default: false },
        'gemm-tile': { type: 'string' }, 'gemm-wide': { type: 'string' }, 'attention-tile': { type: 'string' }, 'attention-tiled': { type: 'string' }, 'split-k': { type: 'string' }, 'wgrad-named': { type: 'string' }, 'wgrad-group': { type: 'string' }, 'forward-named': { type: 'string' }, 'input-grad-named': { type: 'string' }, 'thin-grad': { type: 'string' }, 'layernorm-groups': { type: 'string' }, 'layernorm-rows': { type: 'string' }, 'lora-merge': { type: 'string' },
      },
    }).values;
  } catch (err) {
    say(`${(err as Error).message}\n${BENCH_USAGE}`);
    return 2;
  }
  if (v.help) { console.log(BENCH_USAGE); return 0; }
  const errors: ConfigError[] = [];
  if (!isOneOf(BENCH_PRESETS, v.preset)) errors.push({ path: '--preset', message: `use ${orList(BENCH_PRESETS)} (got "${v.preset}")` });
  if (!isOneOf(BUILTIN_DATASETS, v.dataset)) errors.push({ path: '--dataset', message: `use ${orList(BUILTIN_DATASETS)} (got "${v.dataset}")` });
  if (!isOneOf(NODE_BACKEND_CHOICES, v.backend)) errors.push({ path: '--backend', message: `use ${orList(NODE_BACKEND_CHOICES)} (got "${v.backend}")` });
  // every seed a run takes, checked before the warm-ups (it failed after them, naming "seed", exit 1)
  errors.push(...checkBench({ seeds: v.seeds, firstSeed: v['first-seed'] }, FLAG_NAMES));
  const seeds = readNumber(v.seeds);
  const firstSeed = readNumber(v['first-seed']);
  // tuning flags: each checked, then set before any kernel is made
  // and kept as given: the report carries them, and bench:merge refuses reports that differ in them
  const tuning: Record<string, string> = {};
  const tune = <T>(flag: string, text: string | undefined, parse: (t: string) => T | string, apply: (value: T) => string) => {
    if (text === undefined) return;
    const value = parse(text);
    if (typeof value === 'string') errors.push({ path: `--${flag}`, message: value });
    else {
      tuning[flag] = text;
      console.error(apply(value));
    }
  };
  tune('gemm-tile', v['gemm-tile'], parseGemmTile, (tile) => (Object.assign(GEMM_TILE, tile), `GEMM tile ${tileKey()}`));
  tune('gemm-wide', v['gemm-wide'], parseGemmWide, (w) => (Object.assign(GEMM_WIDE, w), (w.minK === Infinity ? 'wide tile off' : `wide tile from K ${w.minK}, ${w.minRows} rows and ${w.minTiles} tiles (an adapter's forward ${w.sideMinTiles})`)));
  tune('attention-tile', v['attention-tile'], parseAttentionTile,
    (tile) => (Object.assign(ATTENTION, tile), `attention tile ${attentionTileKey()}`));
  tune('attention-tiled', v['attention-tiled'], parseAttentionTiled, (a) => (Object.assign(ATTENTION_TILED, a), `attention's forward ${a.forward ? 'on register tiles where it fits' : 'row by row'}, its backward ${a.backward ? 'on register tiles where it fits' : 'row by row'}`));
  tune('split-k', v['split-k'], parseSplitK, (k) => (Object.assign(SPLIT_K, k), `split-K target ${k.targetWorkgroups} workgroups, at least ${k.minRows} rows`));
  tune('wgrad-named', v['wgrad-named'], parseNamedWgrad, (n) => (Object.assign(NAMED_WGRAD, n), (n.on ? `named-tile weight gradients split for at most ${n.targetWorkgroups} tiles and ${n.maxSplits} splits` : 'named-tile weight gradients off')));
  tune('wgrad-group', v['wgrad-group'], parseWgradGroup, (g) => (Object.assign(WGRAD_GROUP, g), (g.on ? 'the query\'s, key\'s and value\'s weight gradients in one launch' : 'every weight gradient in a launch of its own')));
  tune('forward-named', v['forward-named'], parseNamedForward, (f) => (Object.assign(NAMED_FORWARD, f), (f.on ? `named forwards from N ${f.minN} and ${f.minTiles} tiles` : 'named forwards off')));
  tune('input-grad-named', v['input-grad-named'], parseNamedInputGrad, (f) => (Object.assign(NAMED_INPUT_GRAD, f), (f.on ? `named input gradients from N ${f.minN} and ${f.minTiles} tiles, K to ${f.maxK}` : 'named input gradients off')));
  tune('thin-grad', v['thin-grad'], parseThinGrad, (g) => (Object.assign(THIN_GRAD, g), `thin gradients: ${g.lanes} lanes a column, ${g.unroll} loads at once`));
  tune('layernorm-groups', v['layernorm-groups'], parseLayerNormGroups, (n) => ((LAYERNORM.backwardWorkgroups = n), `LayerNorm backward over ${n} workgroups`));
  tune('layernorm-rows', v['layernorm-rows'], parseLayerNormRows, (r) => (Object.assign(LAYERNORM, r), `LayerNorm rows at once: ${r.forwardRows} forward, ${r.backwardRows} backward`));
  tune('lora-merge', v['lora-merge'], parseLoraMerge, (m) => (Object.assign(LORA_MERGE, m), `the compiled step's LoRA merged weights made ${MERGE_PLACE_WORDS[m.compiled]}`));
  // errors through say: they echo the user's text (--preset with ESC reached the terminal raw)
  if (errors.length) { say(formatErrors(errors)); return 2; }
  const preset = v.preset as BenchPreset;
  const dataset = v.dataset as BuiltinDataset;

  const base = makeConfig(preset, { data: { dataset } });
  if (v.steps !== undefined) {
    // a benchmark's bounds, under the flag's name (past the most, it was refused as schedule.steps)
    const bad = checkBench({ steps: v.steps }, FLAG_NAMES);
    const e = bad.length ? null : setField(base, 'schedule.steps', v.steps);
    errors.push(...bad, ...(e ? [e] : []));
  }
  errors.push(...applySetFlags(base, v.set));
  fitWarmup(base.schedule, setsField(v.set, 'schedule.warmupSteps'));
  // the steps a --set gave (named so: it said --steps of a --steps 40 that a --set overrode), or the preset's
  const stepsFrom = setsField(v.set, 'schedule.steps') ? 'schedule.steps' : FLAG_NAMES.steps;
  if (!errors.length) errors.push(...checkBench({ steps: base.schedule.steps }, { ...FLAG_NAMES, steps: stepsFrom }));
  if (errors.length) { say(formatErrors(errors)); return 2; }
  // as the data make it (the run fits the model to them): the preset's config is not what runs on MNIST
  if (v['print-config']) {
    const data = await loadBuiltinFromDisk(base).catch((err: unknown) => {
      if (err instanceof DatasetError) return err;
      throw err;
    });
    if (data instanceof DatasetError) { say(formatErrors([{ path: '--dataset', message: data.message }])); return 2; }
    console.log(JSON.stringify(benchConfig(base, data)));
    return 0;
  }
  const badOut = v.out === undefined ? null : await outProblem(v.out, 'the report');
  if (badOut) { say(badOut); return 2; }

  const backend = await initNodeBackend(v.backend as BackendChoice);
  // each variant as its run checks it (full training has no adapter; PreLoRA's train beside
  // their bases, static LoRA's at its rank): refused here, before the first run, not at it
  const limits = { memoryBudgetBytes: backend.memoryBudgetBytes, kernels: backend.kernels, ...deviceLimits() };
  const problems = [...new Map(BENCH_VARIANTS.flatMap(({ mode, rule }) => validateConfig({ ...base, prelora: { ...base.prelora, mode, rule } }, limits))
    .map((p) => [`${p.path}\n${p.message}`, p])).values()];
  if (problems.length) { say(formatErrors(problems)); return 2; }
  const device = backend.adapter?.description ?? '';
  console.error(`bench: ${preset} on ${dataset}, ${base.schedule.steps} steps at batch ${base.optim.batchSize}, ${seeds} seed(s), backend ${backend.name}, ${backend.kernels} kernels (${backend.reason})`);
  const started = performance.now();
  const report = await runBench({
    base, preset, seeds, firstSeed, tuning, backend: backend.name, kernels: backend.kernels, device, memoryBudgetBytes: backend.memoryBudgetBytes,
    load: loadBuiltinFromDisk,
    onProgress: (p) => {
      const secs = ((performance.now() - started) / 1000).toFixed(0);
      if (p.result) console.error(`  [${secs} s] ${p.label}: accuracy ${(100 * p.result.accuracy).toFixed(1)}%, ${p.result.wallSeconds.toFixed(0)} s`);
      else if (p.label === 'warm-up') console.error(`  [${secs} s] warm-up runs (full, static LoRA)`);
    },
  });
  console.log(benchTable(report));
  if (v.out) writeFileSync(v.out, JSON.stringify(report, null, 1));
  if (v.json) console.log(JSON.stringify(report));
  return 0;
}

main().then((code) => process.exit(code), (err: unknown) => {
  say(messageOf(err));
  process.exit(1);
});
