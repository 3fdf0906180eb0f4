// A run's plan names the settings that decided each switch, not those of the run's end:
// modules switch under one threshold, patience and rank metric, then a live change sets
// others; the export's plan.json and the page's plan (from the events alone) both keep
// the first for the switches made before the change.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EngineEvent } from '../../src/engine/events';
import { exportRun } from '../../src/engine/io/export';
import { Trainer } from '../../src/engine/trainer';
import { runPlan } from '../../src/ui/export/run-files';
import { microConfig, microData } from '../helpers/export-run';
import { pageRun } from '../helpers/page-run';
import { useBackend } from '../helpers/tf';

interface Entry {
  module: string;
  switchStep: number | null;
  decidedBy: string;
  statistic: { metric: string; value: number; rule: string | null; threshold: number; lossThreshold: number | null } | null;
  windows: { step: number }[];
  rankFrom: { metric: string; scope: string } | null;
}

describe('the plan of a run changed live', () => {
  let trainer: Trainer;
  const events: EngineEvent[] = [];
  let exported: { modules: Entry[]; run: Record<string, unknown> };
  let page: unknown;

  beforeAll(async () => {
    await useBackend('wasm');
    const config = microConfig({
      schedule: { steps: 30, warmupSteps: 3, evalEvery: 1000, logEvery: 5 },
      prelora: {
        mode: 'prelora', rule: 'module', windowSteps: 5, jointSteps: 5, patience: 2, minFullSteps: 0, weightThreshold: 1e3, lossThreshold: 1e3,
        rankMetric: 'gradChange%', rankScope: 'family', alpha: 16, minRank: 4, maxRank: 16,
      },
    });
    trainer = new Trainer(config, microData(config), (e) => events.push(e));
    await trainer.run(7);
    trainer.forceSwitch('blocks.1.fc1'); // at step 8, ranked on the window of step 5
    await trainer.run(8);
    // every other module switched at step 10 (patience 2: the snapshots of 5 and 10); now
    // settings under which none of those switches would have been made
    const { applied } = trainer.setPolicy({ weightThreshold: 1e-9, lossThreshold: 1e-9, patience: 5, metric: 'gradChange%', rankMetric: 'update%', rankScope: 'all' });
    expect(applied).not.toBeNull();
    await trainer.run(15);
    const view = pageRun(config, events, { step: 15, update: applied! }, trainer.stepsDone);

    const changes = events.flatMap((e) => (e.type === 'phase' ? [e.change] : []));
    const files = await exportRun(trainer, changes, { naming: 'transformers5', backend: 'wasm' });
    exported = JSON.parse(files.find((f) => f.path === 'plan.json')!.contents as string) as typeof exported;
    page = JSON.parse(JSON.stringify(runPlan(view)));
  });

  afterAll(() => trainer.dispose());

  it('labels each switch with the threshold, windows and rank metric it was decided by', () => {
    const policy = exported.modules.filter((m) => m.decidedBy === 'policy');
    expect(policy).toHaveLength(11);
    for (const m of policy) {
      expect(m.switchStep).toBe(10);
      expect(m.statistic!.metric).toBe('update%');
      expect(m.statistic!.rule).toBe('module'); // the value is the module's own
      expect(m.statistic!.threshold).toBe(1e3);
      expect(m.statistic!.lossThreshold).toBe(1e3);
      expect(m.statistic!.value).toBeLessThan(m.statistic!.threshold);
      // patience 2: two snapshots, one change tested, the window of 10's (the window of 5's
      // value, its change from the start, was listed too and tested by no rule)
      expect(m.windows.map((w) => w.step)).toEqual([10]);
      expect(m.rankFrom).toMatchObject({ metric: 'gradChange%', scope: 'family' });
    }
    const forced = exported.modules.find((m) => m.module === 'blocks.1.fc1')!;
    expect(forced).toMatchObject({ decidedBy: 'forced', switchStep: 8, statistic: null, rankFrom: { metric: 'gradChange%', scope: 'family' } });
  });

  it('states the run\'s end settings as such, and the page\'s plan is the export\'s', () => {
    expect(exported.run).toMatchObject({ settingsAt: 'end', weightThreshold: 1e-9, lossThreshold: 1e-9, patience: 5, metric: 'gradChange%', rankMetric: 'update%', rankScope: 'all' });
    expect(page).toEqual(exported);
  });
});
