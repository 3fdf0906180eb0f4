// One plan, two ways: the page builds a run's PreLoRA plan from the events the worker
// forwarded (any run it shows, held or not); the model export builds plan.json from
// the trainer itself. On a real run (policy switches, a forced one, a live change) the
// two are the same JSON.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EngineEvent } from '../../src/engine/events';
import { exportRun } from '../../src/engine/io/export';
import { Trainer } from '../../src/engine/trainer';
import { runPlan } from '../../src/ui/export/run-files';
import { useStore } from '../../src/ui/store';
import { microConfig, microData } from '../helpers/export-run';
import { useBackend } from '../helpers/tf';

describe('the page\'s plan of a run', () => {
  let trainer: Trainer;
  const events: EngineEvent[] = [];

  beforeAll(async () => {
    await useBackend('wasm');
    const config = microConfig({
      prelora: { mode: 'prelora', rule: 'module', windowSteps: 5, jointSteps: 5, patience: 2, weightThreshold: 1e-9, lossThreshold: 1e3, alpha: 16, minRank: 4, maxRank: 16 },
    });
    trainer = new Trainer(config, microData(config), (e) => events.push(e));
    const s = useStore.getState();
    const run = s.addRun(config, 'micro');
    s.onWorkerEvent({ type: 'started', runId: run.id, config, init: null });
    trainer.forceSwitch('blocks.1.fc1');
    await trainer.run(12);
    // a live change, as the worker applies and confirms it: modules settle from here on
    const { applied } = trainer.setPolicy({ weightThreshold: 1e3, metric: 'gradChange%' });
    await trainer.run(18);
    const at = events.findIndex((e) => e.type === 'progress' && e.records.at(-1)!.step >= 12) + 1;
    const send = (e: EngineEvent) => useStore.getState().onWorkerEvent({ type: 'engine', runId: run.id, event: e });
    events.slice(0, at).forEach(send);
    useStore.getState().onWorkerEvent({ type: 'policy', runId: run.id, step: 12, update: applied! });
    events.slice(at).forEach(send);
    useStore.getState().onWorkerEvent({ type: 'state', runId: run.id, state: 'done', step: trainer.stepsDone });
  });

  afterAll(() => trainer.dispose());

  it('is the export\'s plan.json, from the events alone', async () => {
    const changes = events.flatMap((e) => (e.type === 'phase' ? [e.change] : []));
    expect(changes.some((c) => c.decidedBy === 'forced')).toBe(true);
    expect(changes.some((c) => typeof c.decidedBy === 'object')).toBe(true); // and the policy switched some
    const files = await exportRun(trainer, changes, { naming: 'transformers5', backend: 'wasm' });
    const exported = JSON.parse(files.find((f) => f.path === 'plan.json')!.contents as string) as Record<string, unknown>;
    const view = useStore.getState().runs.at(-1)!;
    expect(view.config.prelora.metric).toBe('gradChange%');
    expect(JSON.parse(JSON.stringify(runPlan(view)))).toEqual(exported);
  });
});
