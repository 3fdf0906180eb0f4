// The compiled step (a recording of the fused kernels replayed each step) against the
// fused ops run op by op through tfjs's tape, on the same WebGPU device (Dawn on
// SwiftShader): a seeded PreLoRA run through a full phase, a hand switch (joint phase)
// and a freeze (LoRA phase), with augmentation (shifts and flips gathered on the
// device), gives the same losses, weights and monitor windows, and so does one whose
// policy switches at a window's end (the compiled path decides a step ahead), and one
// on small's kernels (the wide tile, the named tiles: the replay's trained input
// gradients over their weights transposed), and one whose attention runs on register
// tiles (heads 64 wide over 65 tokens); and its kernels per step of tiny's structure are
// few and fixed.
import { beforeAll, describe, expect, it } from 'vitest';
import { weightErrors, type CompiledRun, type SpecRuns } from '../helpers/compiled-parity-run';
import { runOnDawn } from '../helpers/dawn';
import { estimateRatios, type CountResult } from '../helpers/kernel-count-run';
import { SWITCHED } from '../helpers/path-parity-run';
import { maxRelError } from '../helpers/tf';
import { paramSumsPerLaunch } from '../../src/engine/ops/webgpu/layernorm';
import { adapterSumsPerLaunch, mergesPerLaunch } from '../../src/engine/ops/webgpu/linear';
import { msByKind } from '../../src/engine/kernels';
import { launchGroup } from '../../src/engine/bench/report';
import { FAMILIES } from '../../src/engine/vit-families';
import { tileKey, wideTile } from '../../src/engine/ops/webgpu/gemm';

// the 100 steps: a switch at 12 and a freeze at 22 leave 78 steps of the LoRA
// phase, so a drift that grows with steps has room to show
const STEPS = 100;
// the policy's switch at a window's end (POLICY_STEPS) and the wide tile (WIDE_STEPS)
const POLICY_STEPS = 40;
const WIDE_STEPS = 40;
// attention on register tiles (heads 64 wide, 65 tokens), with the hand switch at 12
const TILED_STEPS = 30;

// the three describes' runs in one child process, whose kernels are made once for all
// (on SwiftShader a process's first run spends about 40 s making pipelines); the wide
// run first, so that its fused run makes every product kernel it uses: one on GEMM_TILE
// would be counted, not already made by the others. Started by the first describe that
// needs it, so that a failed child fails those three, not the kernel counts below.
const PARITY_MS = 2_400_000;
let runs: Promise<Record<string, SpecRuns>> | undefined;
const specRuns = async (spec: string): Promise<SpecRuns> =>
  (await (runs ??= runOnDawn<Record<string, SpecRuns>>('test/helpers/compiled-parity-run.ts', [`${WIDE_STEPS}:wide`, String(STEPS), `${POLICY_STEPS}:policy`, `${TILED_STEPS}:tiled`], PARITY_MS)))[spec]!;

/** The replay's run against the op-by-op one: `steps` losses and the same weights, each within 1e-6 relative. */
function expectSameRun(compiled: CompiledRun, fused: CompiledRun, steps: number): void {
  expect(compiled.losses).toHaveLength(steps);
  expect(maxRelError(compiled.losses, fused.losses)).toBeLessThan(1e-6);
  expect(Object.keys(compiled.weights).sort()).toEqual(Object.keys(fused.weights).sort());
  for (const [name, e] of Object.entries(weightErrors(fused, compiled))) expect(e, name).toBeLessThan(1e-6);
}

describe('compiled step against the fused ops, whole run', () => {
  let compiled: CompiledRun;
  let fused: CompiledRun;
  beforeAll(async () => {
    ({ compiled, fused } = await specRuns(String(STEPS)));
  }, PARITY_MS);

  it('records once per phase: full, joint, LoRA', () => {
    expect(compiled.recordings).toBe(3);
    expect(fused.recordings).toBe(0);
    expect(compiled.frozen.sort()).toEqual([...SWITCHED].sort());
    expect(fused.frozen.sort()).toEqual([...SWITCHED].sort());
  });

  it('gives the same losses and weights (1e-6 relative)', () => expectSameRun(compiled, fused, STEPS));

  it('queues the step after each window that could switch ahead of its decision, and keeps it', () => {
    // patience 2: windows 20 to 90 could switch (the last, at 100, cannot pay off); none does
    expect(compiled.ahead).toEqual({ committed: 8, withdrawn: 0 });
    expect(fused.ahead).toEqual({ committed: 0, withdrawn: 0 });
  });

  it('queues a step ahead up to its loss: the forward, written only to the recording\'s scratch', () => {
    const c = compiled.commit!;
    expect(c.before).toBe('cross-entropy.loss');
    expect(c.at).toBeGreaterThan(c.of / 4);
    expect(c.at).toBeLessThan(c.of / 2);
    expect(c.scratch).toEqual({ table: false, loss: true });
  });

  it('sums the monitor\'s windows on the device as the eager monitor does', () => {
    expect(compiled.windows).toHaveLength(STEPS / 10);
    compiled.windows.forEach((w, i) => {
      expect(maxRelError([w.loss], [fused.windows[i]!.loss])).toBeLessThan(1e-6);
      expect(maxRelError(w.gradNorms, fused.windows[i]!.gradNorms)).toBeLessThan(1e-6);
    });
  });
});

describe('compiled step against the fused ops, the policy switching at a window\'s end', () => {
  // the compiled path queues step 21 before window 20's numbers are back; the decision
  // switches every module, so that step is taken back and taken again in the joint phase
  let compiled: CompiledRun;
  let fused: CompiledRun;
  let paused: CompiledRun;
  let live: CompiledRun;
  beforeAll(async () => {
    const r = await specRuns(`${POLICY_STEPS}:policy`);
    ({ compiled, fused } = r);
    [paused, live] = [r.paused!, r.live!];
  }, PARITY_MS);

  it('switches and freezes at the same steps, the step queued ahead taken back', () => {
    expect(compiled.phases.length).toBeGreaterThan(0);
    expect(compiled.phases).toEqual(fused.phases);
    expect(new Set(compiled.phases.filter((p) => p.to === 'joint').map((p) => p.step))).toEqual(new Set([20]));
    expect(compiled.ahead).toEqual({ committed: 0, withdrawn: 1 });
    expect(compiled.recordings).toBe(3);
  });

  it('gives the same losses and weights (1e-6 relative)', () => expectSameRun(compiled, fused, POLICY_STEPS));

  it('decides at the window\'s end when the run stops there, with no step queued ahead: the same run', () => {
    expect(paused.ahead).toEqual({ committed: 0, withdrawn: 0 });
    expect(paused.phases).toEqual(compiled.phases);
    expect(paused.losses).toEqual(compiled.losses);
    expect(paused.weights).toEqual(compiled.weights);
  });

  it('decides on the settings of the window\'s end: a live change made while the decision waits counts from the next', () => {
    // stepped to the window's end, the decision still waits there; the change (no window
    // passes it) must not undo the switch the window's own settings make
    expect(live.ahead).toEqual({ committed: 0, withdrawn: 1 });
    expect(live.phases).toEqual(compiled.phases);
    expect(live.losses).toEqual(compiled.losses);
  });
});

describe('compiled step against the fused ops on small\'s kernels: the wide tile, the named tiles', () => {
  // small's blocks' forwards at batch 128 run on the named tile (an adapter's on its merged
  // weight), its input gradients on the tile of twice the rows, its trained bases'
  // weight gradients on named tiles; the micro model's never would, so this run lowers
  // the rules' thresholds (at batch 8: 136 rows, two rows of wide tiles; fc1 and fc2's
  // weight gradients on 8 x 8, the attention linears' and the patch embedding's on 8 x
  // 4): the replay, with its riders and merged weights, on those tiles against the
  // op-by-op path on them
  let compiled: CompiledRun;
  let fused: CompiledRun;
  beforeAll(async () => {
    ({ compiled, fused } = await specRuns(`${WIDE_STEPS}:wide`));
  }, PARITY_MS);

  it('runs the input gradients on the wide tile on both paths (the replay\'s trained bases\' on the named tile; the adapters\' forwards too op by op, merged in the loads), a frozen base\'s thin gradients riding in the replay', () => {
    const wide = tileKey(wideTile()!);
    expect(compiled.recordings).toBe(3);
    expect(Object.keys(compiled.productTiles)).toEqual([wide]);
    // the LoRA phase's recording: the four switched linears' input gradients, and the
    // classifier's forward and input gradient (its 10 outputs are not a multiple of 4)
    expect(compiled.productTiles[wide]).toBe(6);
    expect(compiled.rode).toBe(true);
    expect(Object.keys(fused.productTiles)).toEqual([wide]);
    expect(fused.productTiles[wide]).toBeGreaterThan(4);
  });

  it('runs the forwards (with an adapter, on its merged weight made ahead), and the trained bases\' weight gradients and (replayed, over their weights transposed) input gradients on the named tiles, the switched ones\' left out', () => {
    const [forward, square, wide, input] = ['linear.forward-named 64x128x16/4x8', 'linear.weight-grad-named 128x128x16/8x8', 'linear.weight-grad-named 128x64x16/8x4', 'linear.input-grad-named 64x128x16/4x8'];
    // the LoRA phase's recording: the patch embedding, blocks.0.fc2, blocks.1.fc1 and six
    // attention linears still train their bases (the classifier's 10 outputs are not a
    // multiple of 4): their forwards, and their weight gradients (fc1 and fc2 on 8 x 8);
    // the four switched linears' forwards on their merged weights, with x A beside them;
    // the input gradients of the eight trained bases that have one (not the patch embedding);
    // of each block the two attention linears still trained among the query, key and
    // value share their weight gradients' launch: 7 weight gradients on 8 x 4 in 5 launches
    expect(compiled.namedTiles).toEqual({ [forward]: 13, [square]: 2, [wide]: 5, [input]: 8 });
    expect(compiled.groupedWgrads).toEqual([2, 2]);
    // op by op, each kernel once: the forward plain, with a residual and behind fc1's
    // GELU; the weight gradient plain and behind the GELU on 8 x 8, plain on 8 x 4
    expect(fused.namedTiles).toEqual({ [forward]: 3, [square]: 2, [wide]: 1 });
  });

  it('gives the same losses and weights (1e-6 relative)', () => expectSameRun(compiled, fused, WIDE_STEPS));
});

describe('compiled step against the fused ops with attention on register tiles', () => {
  // micro's blocks with one head 64 wide over 65 tokens (32 x 32 images): tiny's and
  // small's attention kernels, the class token's row and key worked apart
  let compiled: CompiledRun;
  let fused: CompiledRun;
  beforeAll(async () => {
    ({ compiled, fused } = await specRuns(`${TILED_STEPS}:tiled`));
  }, PARITY_MS);

  it('runs attention\'s forward and backward on the tiled kernels on both paths', () => {
    const tiled = ['attention.forward/tiled/t65', 'attention.backward/tiled/t65'];
    expect(compiled.attention).toEqual(tiled);
    expect([...fused.attention].sort()).toEqual([...tiled].sort());
    expect(compiled.recordings).toBe(3);
  });

  it('gives the same losses and weights (1e-6 relative)', () => expectSameRun(compiled, fused, TILED_STEPS));
});

describe('kernels per compiled step of tiny\'s structure', () => {
  let counts: CountResult[] = [];
  beforeAll(async () => {
    counts = await runOnDawn<CountResult[]>('test/helpers/kernel-count-run.ts', ['24x2,48x3', 'compiled'], 1_200_000);
  }, 1_200_000);

  it('is at most 300 in the full phase, only our own kernels, the LoRA phase adding only the merged weights\' launches', () => {
    for (const c of counts) {
      expect(c.kernels).toBe('compiled');
      expect(c.full.total).toBeLessThanOrEqual(300);
      for (const phase of [c.full, c.lora!]) {
        // no tfjs kernel runs inside a compiled step: every name is one of ours (`op.part`)
        expect(Object.keys(phase.byName).filter((n) => !n.includes('.'))).toEqual([]);
      }
      // 36 adapters, W + s A B each, made ahead of the forward four a launch on the
      // H200's 16 storage buffers (9 launches: the LoRA phase 183-186 at tiny b128, the
      // full phase 236, 237 with the launch that transposes fc2's weights for their named
      // input gradients, 213 with each block's query, key and value weight gradients and
      // their sums a launch each: these widths take neither), three on SwiftShader's 12 (12
      // launches: the LoRA phase 231 here and the full 254, AdamW, the norms and the
      // shared sums binding fewer tensors a launch too)
      const merges = Math.ceil(36 / mergesPerLaunch(c.storageBuffers));
      expect(c.lora!.byName['linear.lora-merge']).toBe(merges);
      expect(c.lora!.total - merges).toBeLessThanOrEqual(c.full.total);
    }
  });

  it('is fixed by the structure: 205 plus the LayerNorm sums\', the gradient norms\' and AdamW\'s launches', () => {
    const [small, wider] = counts;
    expect(wider!.full.byName).toEqual(small!.full.byName);
    // the adapters' gradient sums share launches as far as the full step's split-K
    // scratch holds their partials, which depends on the sizes: between all 36 in as few
    // launches as the storage buffers allow and a launch each
    const { 'linear.adapter-grad-sum': sums, ...rest } = wider!.lora!.byName;
    const { 'linear.adapter-grad-sum': smallSums, ...smallRest } = small!.lora!.byName;
    expect(rest).toEqual(smallRest);
    for (const [n, c] of [[sums, wider!], [smallSums, small!]] as const) {
      expect(n).toBeGreaterThanOrEqual(Math.ceil(36 / adapterSumsPerLaunch(c.storageBuffers)));
      expect(n).toBeLessThanOrEqual(36);
    }
    const per = (n: number) => Math.ceil(104 / n);
    const s = small!.storageBuffers;
    // forward 61, backward 141 (no launch of its own sums the residual stream's or q, k
    // and v's input gradients) and the 13 LayerNorms' parameter sums several a launch,
    // clip + module norms + window sums 3
    expect(small!.full.byName['layernorm.param-grad-sum']).toBe(Math.ceil(13 / paramSumsPerLaunch(s)));
    expect(small!.full.total).toBe(205 + Math.ceil(13 / paramSumsPerLaunch(s)) + per(s - 1) + per(Math.floor((s - 1) / 3)));
  });

  it('runs a frozen base\'s thin gradients in the next input gradient\'s launch', () => {
    for (const c of counts) {
      const lora = c.lora!.byName;
      // the head and the patch embedding train their base: a weight-gradient launch and
      // its sum each; the 36 frozen bases' adapters launch none of their own but the
      // last in the backward's order (block 0's query: the patch embedding takes no
      // input gradient to ride in), their partials' ring holding two or more at these sizes
      expect(lora['linear.weight-grad-sum']).toBe(2);
      expect(lora['linear.weight-grad']).toBe(3);
      expect(lora['linear.input-grad']).toBe(c.full.byName['linear.input-grad']);
    }
  });

  it('leaves no tensor behind from step to step', () => {
    for (const c of counts) expect([c.full.tensorGrowth, c.lora?.tensorGrowth ?? 0]).toEqual([0, 0]);
  });

  it('times every kind of kernel to the nanosecond, not in Dawn\'s default steps of 65,536 ns', () => {
    for (const c of counts) {
      for (const phase of [c.full, c.lora!]) {
        const byKind = msByKind(phase.deviceMsByLaunch!);
        // every kind of the step is timed, and none took negative time
        expect(Object.keys(byKind).sort()).toEqual(Object.keys(phase.byName).sort());
        const ns = Object.values(byKind).map((ms) => Math.round(ms * 1e6));
        expect(Math.min(...ns)).toBeGreaterThanOrEqual(0);
        // rounded timestamps make every sum a multiple of 65,536 ns
        expect(ns.filter((n) => n % 65536 !== 0).length).toBeGreaterThan(ns.length / 2);
      }
    }
  });

  it('times every launch of a step, each linear\'s under its module\'s name', () => {
    for (const c of counts) {
      for (const [phase, lora] of [[c.full, false], [c.lora!, true]] as const) {
        const launches = phase.deviceMsByLaunch!;
        // as many launches as the step's count (another step, counted another way)
        expect(launches).toHaveLength(phase.total);
        // the forward launches one product a linear, in the forward's order
        expect(launches.filter((l) => l.kind === 'linear.forward').map((l) => l.module)).toEqual(phase.linears);
        // attention's three launches a block, under the block's attention module
        const depth = (phase.linears.length - 2) / 6;
        const attention = launches.filter((l) => l.kind.startsWith('attention.')).map((l) => l.module);
        const blocks = Array.from({ length: depth }, (_, i) => `vit.encoder.layer.${i}.attention.attention`);
        for (const name of blocks) expect(attention.filter((a) => a === name), name).toHaveLength(3);
        expect(attention).toHaveLength(3 * depth);
        // in the LoRA phase a frozen base's thin gradients ride in another linear's input
        // gradient: that launch names both
        const riding = launches.filter((l) => l.kind === 'linear.input-grad' && l.module?.includes(' + '));
        if (lora) expect(riding.length).toBeGreaterThan(0);
        else expect(riding).toEqual([]);
        for (const l of riding) {
          const [host, rider] = l.module!.split(' + ');
          expect(phase.linears).toContain(host);
          expect(phase.linears).toContain(rider);
          expect(rider).not.toBe(host);
        }
        // the bench's breakdown has a group for every label the step gives, and each
        // linear's forward counts for its own family (fc2's output.dense is not output's)
        for (const l of launches) if (l.module !== null) expect(launchGroup(l.module), l.module).not.toBe('shared');
        expect(launches.filter((l) => l.kind === 'linear.forward').map((l) => launchGroup(l.module)))
          .toEqual(['patch embedding', ...Array.from({ length: depth }, () => FAMILIES).flat(), 'classifier']);
      }
    }
  });

  it('needs the memory the config check expects on this path, within 25 percent', () => {
    // the check refuses a model before it runs: an estimate for tfjs's composite tape
    // refused tiny at batch 128 in the page (6.1 GB expected, 0.79 GB held)
    for (const r of estimateRatios(counts)) {
      expect(r).toBeGreaterThan(0.75);
      expect(r).toBeLessThan(1.25);
    }
  });
});
