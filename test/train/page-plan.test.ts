// One plan, two ways: the page builds a run's PreLoRA plan from the events the worker
// forwarded (any run it shows, held or not); the model export builds plan.json from
// the trainer itself. On a real run (policy switches, a forced one, a live change) the
// two are the same JSON.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EngineEvent } from '../../src/engine/events';
import { exportRun } from '../../src/engine/io/export';
import { Trainer } from '../../src/engine/trainer';
import { runPlan } from '../../src/ui/export/run-files';
import type { RunView } from '../../src/ui/store/runs';
import { microConfig, microData } from '../helpers/export-run';
import { pageRun } from '../helpers/page-run';
import { useBackend } from '../helpers/tf';

describe('the page\'s plan of a run', () => {
  let trainer: Trainer;
  const events: EngineEvent[] = [];
  let view: RunView;

  beforeAll(async () => {
    await useBackend('wasm');
    const config = microConfig({
      prelora: { mode: 'prelora', rule: 'module', windowSteps: 5, jointSteps: 5, patience: 2, weightThreshold: 1e-9, lossThreshold: 1e3, alpha: 16, minRank: 4, maxRank: 16 },
    });
    trainer = new Trainer(config, microData(config), (e) => events.push(e));
    trainer.forceSwitch('blocks.1.fc1');
    await trainer.run(12);
    // a live change, as the worker applies and confirms it: modules settle from here on
    const { applied } = trainer.setPolicy({ weightThreshold: 1e3, metric: 'gradChange%' });
    await trainer.run(18);
    view = pageRun(config, events, { step: 12, update: applied! }, trainer.stepsDone);
  });

  afterAll(() => trainer.dispose());

  it('is the export\'s plan.json, from the events alone', async () => {
    const changes = events.flatMap((e) => (e.type === 'phase' ? [e.change] : []));
    expect(changes.some((c) => c.decidedBy === 'forced')).toBe(true);
    expect(changes.some((c) => typeof c.decidedBy === 'object')).toBe(true); // and the policy switched some
    const files = await exportRun(trainer, changes, { naming: 'transformers5', backend: 'wasm' });
    const exported = JSON.parse(files.find((f) => f.path === 'plan.json')!.contents as string) as Record<string, unknown>;
    expect(view.config.prelora.metric).toBe('gradChange%');
    expect(JSON.parse(JSON.stringify(runPlan(view)))).toEqual(exported);
  });
});
