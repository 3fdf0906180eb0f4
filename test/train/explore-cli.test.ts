// `npm run explore` as a user runs it: a real process on a run log in the `--out`
// format (built from the recorded nano runs of test/fixtures/replay-nano.json), its
// tables, its exactness note and its errors.
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeConfig, type PreLoRAConfig } from '../../src/engine/config';
import type { EngineEvent } from '../../src/engine/events';
import type { WindowRecord } from '../../src/engine/policy';
import { tempDir } from '../helpers/temp';

const exec = promisify(execFile);
const explore = (args: string[]) => exec(process.execPath, ['--import', 'tsx', 'src/cli/explore.ts', ...args], { timeout: 60_000 });

interface Recorded { steps: number; prelora: PreLoRAConfig; windows: WindowRecord[]; switches: { module: string; step: number; rank: number }[] }
const fixture = JSON.parse(readFileSync(new URL('../fixtures/replay-nano.json', import.meta.url), 'utf8')) as Record<'global' | 'module', Recorded>;

/** The run log `npm run train -- --out` writes, with the events a replay reads: windows, switches and freezes, in order. */
function runLog(rec: Recorded) {
  const config = makeConfig('nano', { prelora: rec.prelora, schedule: { steps: rec.steps } });
  const joint = rec.prelora.jointSteps; // a multiple of the window: each freeze comes at a window's step
  const events: EngineEvent[] = rec.windows.flatMap((w): EngineEvent[] => [
    ...rec.switches.filter((s) => s.step + joint === w.step).map((s): EngineEvent => ({
      type: 'phase', change: { module: s.module, from: 'joint', to: 'lora', step: w.step, rank: s.rank, decidedBy: 'joint-done' },
    })),
    { type: 'window', window: w },
    ...rec.switches.filter((s) => s.step === w.step).map((s): EngineEvent => ({
      type: 'phase', change: { module: s.module, from: 'full', to: 'joint', step: s.step, rank: s.rank, decidedBy: { metric: 'update%', value: 0 } },
    })),
  ]);
  return { config, backend: { name: 'wasm' }, summary: null, events };
}

let dir: string;
const file = (name: string) => join(dir, name);

beforeAll(() => {
  dir = tempDir('explore-');
  writeFileSync(file('global.json'), JSON.stringify(runLog(fixture.global)));
  writeFileSync(file('module.json'), JSON.stringify(runLog(fixture.module)));
  writeFileSync(file('broken.json'), '{"config": ');
  writeFileSync(file('short.json'), JSON.stringify({ ...runLog(fixture.global), events: [] }));
  const good = runLog(fixture.global);
  writeFileSync(file('null-event.json'), JSON.stringify({ ...good, events: [null] }));
  writeFileSync(file('null-window.json'), JSON.stringify({ ...good, events: [good.events[0], { type: 'window', window: null }] }));
  const modules = (good.events[0] as Extract<EngineEvent, { type: 'window' }>).window.modules;
  const fewer = { ...good.events[0], window: { ...(good.events[0] as Extract<EngineEvent, { type: 'window' }>).window, modules: { 'blocks.0.query': modules['blocks.0.query'] } } };
  writeFileSync(file('fewer-modules.json'), JSON.stringify({ ...good, events: [good.events[0], fewer] }));
  writeFileSync(file('bad-config.json'), JSON.stringify({ ...good, config: { ...good.config, model: { ...good.config.model, width: -4 } } }));
  writeFileSync(file('odd-config.json'), JSON.stringify({ ...good, config: { ...good.config, prelora: 'x' } }));
  writeFileSync(file('null-config.json'), JSON.stringify({ ...good, config: null }));
  execFileSync('mkfifo', [file('pipe.json')]);
  // a model of 300 million blocks, with no window or with the nano run's: its module ids
  // (1.8 billion) were listed before an event was read, 4 GB, and the process died of it
  const deep = { ...good.config, model: { ...good.config.model, depth: 300_000_000 } };
  writeFileSync(file('deep-empty.json'), JSON.stringify({ config: deep, events: [] }));
  writeFileSync(file('deep.json'), JSON.stringify({ ...good, config: deep }));
  // a module named with ESC and U+202E: printed raw, they recoloured the terminal and reversed the text after them
  const window0 = (good.events[0] as Extract<EngineEvent, { type: 'window' }>).window;
  const { 'blocks.0.query': moved, ...others } = window0.modules;
  writeFileSync(file('escapes.json'), JSON.stringify({ ...good, events: [{ type: 'window', window: { ...window0, modules: { ...others, 'blocks.0.\x1b[31mEVIL\u202e': moved } } }] }));
});

describe('npm run explore', () => {
  it('with the run\'s own settings predicts every real switch, and says up to where it is exact', async () => {
    const { stdout } = await explore([file('module.json')]);
    const rows = stdout.split('\n').filter((l) => l.startsWith('blocks.'));
    expect(rows).toHaveLength(24);
    for (const row of rows) {
      const [, real, rank, predicted, prank] = /^\S+\s+(\d+) r(\d+)\s+~?(\d+) r(\d+)$/.exec(row)!;
      expect([predicted, prank]).toEqual([real, rank]);
    }
    const first = Math.min(...fixture.module.switches.map((s) => s.step));
    expect(stdout).toContain(`exact up to step ${first}, the run's first real switch`);
    expect(stdout).toMatch(/matmul FLOPs saved\s+[\d.]+%\s+[\d.]+%/);
    // over the steps the windows cover, which a run's summary may not end at
    const lastWindow = runLog(fixture.module).events.flatMap((e) => (e.type === 'window' ? [e.window.step] : [])).at(-1);
    expect(stdout).toContain(`shares over steps 1 to ${lastWindow}, those its windows cover`);
  });

  it('sweeps the weight threshold: modules by value, the switch steps, the shares; --json has every cell', async () => {
    const { stdout, stderr } = await explore([file('global.json'), '--sweep', 'prelora.weightThreshold=1:10:0.5', '--json']);
    const lines = stdout.split('\n');
    expect(lines[0]).toMatch(/^weightThreshold\s+1\s+1\.5\s+2\s+.*\s+10$/);
    const result = JSON.parse(lines.at(-2)!) as { axis: { values: number[] }; cells: { switches: { step: number }[] }[] };
    expect(result.axis.values).toHaveLength(19);
    // the global rule: all 24 at once or none; a higher threshold never later
    const firstSteps = result.cells.map((c) => (c.switches.length ? Math.min(...c.switches.map((s) => s.step)) : Infinity));
    for (const c of result.cells) expect([0, 24]).toContain(c.switches.length);
    for (let i = 1; i < firstSteps.length; i++) expect(firstSteps[i]).toBeLessThanOrEqual(firstSteps[i - 1]!);
    expect(new Set(firstSteps).size).toBeGreaterThan(1);
    expect(lines.find((l) => l.startsWith('blocks.3.fc2'))!.trim().split(/\s+/)).toHaveLength(20);
    expect(stderr).toMatch(/swept 19 values x 24 modules x 12 windows in [\d.]+ ms/);
  });

  it.each([
    [['missing.json'], /missing\.json: cannot read it \(ENOENT\): write one with npm run train -- --out/],
    [['broken.json'], /broken\.json is not JSON/],
    [['pipe.json'], /pipe\.json is not a file: write one with npm run train -- --out/],
    [['null-event.json'], /null-event\.json: events\[0\] is not an event \(an object with a "type"\): write one with npm run train -- --out RUN\.json/],
    [['null-window.json'], /null-window\.json: events\[1\] \(a window event\) window: expected Object \(got null\)/],
    [['fewer-modules.json'], /fewer-modules\.json: events\[1\] \(a window event\) has 1 modules where the config's model \(depth 4\) has 24/],
    [['bad-config.json'], /bad-config\.json: its config does not check \(model\.width must be a whole number >= 1 \(got -4\)\)/],
    [['odd-config.json'], /odd-config\.json: its config is not a run's config \(config\.prelora: expected Object \(got "x"\)\)/],
    [['null-config.json'], /null-config\.json: its config is not a run's config \(config: expected Object \(got null\)\)/],
    [['short.json'], /short\.json: the run has no window statistics/],
    [['global.json', '--sweep', 'prelora.optimLr=1:2:1'], /--sweep: cannot sweep "prelora.optimLr": use one of prelora.weightThreshold/],
    // the field named once: it printed "prelora.patience: prelora.patience must be ..."
    [['global.json', '--set', 'prelora.patience=1'], /^prelora.patience must be a whole number >= 2 \(got 1\)$/m],
    [['global.json', '--set', 'prelora.windowSteps=10'], /prelora.windowSteps: a replay can change prelora.rule/],
    [['global.json', '--sweep', 'prelora.patience=2,0x10'], /--sweep patience: "2,0x10" is not a list of numbers \("0x10" is not a decimal number\)/],
    [['global.json', '--sweep', 'prelora.maxRank=4:12:4'], /prelora.maxRank must be a power of two, e.g. 4, 8, 16 \(got 12\)/],
  ])('%s is refused with exit code 2, naming the file or field', async (args, message) => {
    const err = await explore(args.map((a) => (a.endsWith('.json') ? file(a) : a))).catch((e) => e);
    expect(err.code).toBe(2);
    expect(err.stderr).toMatch(message);
  });

  it('prints what a log or a flag names with its control characters escaped', async () => {
    for (const args of [[file('escapes.json')], [file('global.json'), '--set', 'prelora.\x1b[31mrule=x']]) {
      const err = await explore(args).catch((e) => e);
      expect(err.code).toBe(2);
      expect(err.stderr).toContain('\\x1b[31m');
      expect(err.stderr).not.toContain('\x1b');
      expect(err.stderr).not.toContain('\u202e');
    }
  });

  it.each([
    ['deep-empty.json', /deep-empty\.json: the run has no window statistics/],
    ['deep.json', /deep\.json: events\[0\] \(a window event\) has 24 modules where the config's model \(depth 300000000\) has 1800000000: write one/],
  ])('%s, a config of a model far deeper than its windows, is refused without a heap in proportion to it', async (name, message) => {
    // a heap of 256 MB: the ids of such a model took 4 GB, and the process died of it (exit 134)
    const err = await exec(process.execPath, ['--max-old-space-size=256', '--import', 'tsx', 'src/cli/explore.ts', file(name)], { timeout: 60_000 }).catch((e) => e);
    expect(err.stderr).toMatch(message);
    expect(err.code).toBe(2);
  });
});
