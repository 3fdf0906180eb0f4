// A run's summary from its events alone: the share of steps in each phase, the matmul
// FLOPs against full training, and the order in which families left full training.
import { describe, expect, it } from 'vitest';
import { makeConfig } from '../../src/engine/config';
import type { EngineEvent, PhaseChange, RunPhase } from '../../src/engine/events';
import { flopsPerStep } from '../../src/engine/flops';
import { summarize, switchOrder } from '../../src/engine/summary';

const model = makeConfig('nano').model;
const meta = { backend: 'cpu', kernels: 'composite' as const, mode: 'prelora', rule: 'module', seed: 1, batchSize: 4, model, wallSeconds: 1 };

/** `n` steps from `from` in one read-back interval of the given phase. */
function progress(from: number, n: number, phase: RunPhase): EngineEvent {
  const records = Array.from({ length: n }, (_, i) => ({ step: from + i, epoch: 0, loss: 1, lr: 1e-3 }));
  return { type: 'progress', records, phase, samplesPerSec: 10, seconds: n / 10 };
}

const change = (module: string, from: PhaseChange['from'], to: PhaseChange['to'], step: number, rank = 4): EngineEvent =>
  ({ type: 'phase', change: { module, from, to, step, rank, decidedBy: { metric: 'update%', value: 1 } } });

describe('run summary', () => {
  it('reports the share of steps in each phase, FLOPs saved against full training, and the switch order', () => {
    // blocks.0.fc2 switches at 10 and freezes at 20; blocks.1.value switches at 20 and freezes at 30; 40 steps
    const events: EngineEvent[] = [
      progress(1, 10, 'full'),
      change('blocks.0.fc2', 'full', 'joint', 10, 8),
      progress(11, 10, 'mixed'),
      change('blocks.0.fc2', 'joint', 'lora', 20, 8),
      change('blocks.1.value', 'full', 'joint', 20),
      progress(21, 10, 'mixed'),
      change('blocks.1.value', 'joint', 'lora', 30),
      progress(31, 10, 'mixed'),
    ];
    const s = summarize(events, meta);
    expect(s.steps).toBe(40);
    expect([s.phases.full.share, s.phases.mixed?.share, s.phases.lora.share]).toEqual([0.25, 0.75, 0]);
    const B = 4;
    const full = flopsPerStep(model, { batchSize: B });
    const fc2 = { ranks: { 'blocks.0.fc2': 8 } }, both = { ranks: { 'blocks.0.fc2': 8, 'blocks.1.value': 4 } };
    const want = 10 * full + 10 * flopsPerStep(model, { batchSize: B, ...fc2 })
      + 10 * flopsPerStep(model, { batchSize: B, ...both, frozen: new Set(['blocks.0.fc2']) })
      + 10 * flopsPerStep(model, { batchSize: B, ...both, frozen: new Set(['blocks.0.fc2', 'blocks.1.value']) });
    expect(s.flops.total).toBe(want);
    expect(s.flops.fullTraining).toBe(40 * full);
    expect(s.flops.saved).toBeCloseTo(1 - want / (40 * full), 12);
    expect(s.switchOrder.map((f) => f.family)).toEqual(['fc2', 'value']);
  });

  it('leaves each phase\'s first interval out of its samples/s, and the first after a restore (a resume compiles its kernels again)', () => {
    const timed = (from: number, seconds: number, cold = false): EngineEvent => {
      const { records } = progress(from, 10, 'full') as Extract<EngineEvent, { type: 'progress' }>;
      return { type: 'progress', records, phase: 'full', seconds, samplesPerSec: 40 / seconds, ...(cold ? { cold: true as const } : {}) };
    };
    // 10 steps of batch 4 a second when warm; the first and the resumed one slow
    const s = summarize([timed(1, 5), timed(11, 1), timed(21, 1), timed(31, 9, true), timed(41, 1)], meta);
    expect(s.phases.full.samplesPerSec).toBe(40);
    // a phase of a first and a cold interval only: what it has
    expect(summarize([timed(1, 5), timed(11, 9, true)], meta).phases.full.samplesPerSec).toBe(80 / 14);
  });

  it('measures tensor growth at the window ends the run had, after a live change of the window too', () => {
    const memory = (step: number, numTensors: number): EngineEvent => ({ type: 'memory', step, phase: 'lora', memory: { numTensors, numBytes: 4 * numTensors } });
    const window = (step: number): EngineEvent => ({ type: 'window', window: { step, loss: 1, 'lossChange%': null, modules: {} } });
    // windows of 10 to step 30, then of 25 (a live change): they end at 55 and 80; the
    // readings between them hold the window's accumulators (10 tensors more)
    const events = [window(10), window(20), window(30), memory(45, 100), window(55), memory(55, 90), memory(65, 100), window(80), memory(80, 90)];
    // by the config's multiples it found one end at most, and compared every reading: -10
    expect(summarize(events, meta).tensorsGrowth).toBe(0);
  });

  it('compares readings in the same state: after the final phase\'s first window end, at window ends or between them, and says null where it cannot', () => {
    const memory = (step: number, numTensors: number, phase: RunPhase = 'lora'): EngineEvent => ({ type: 'memory', step, phase, memory: { numTensors, numBytes: 4 * numTensors } });
    const window = (step: number): EngineEvent => ({ type: 'window', window: { step, loss: 1, 'lossChange%': null, modules: {} } });
    // micro, windows of 15, read back every 10 steps, the last freeze at 37: the reading at
    // 40 still holds the frozen modules' snapshots (they go at the window end of 45, 12
    // tensors), the one at 60 is a window end's (its accumulators out, 2 fewer). Compared
    // 40 with 70, it read -12, which hid a leak of as many
    const run = (last: number) => [
      window(15), memory(20, 150, 'mixed'), window(30), memory(30, 148, 'mixed'), change('blocks.0.fc1', 'joint', 'lora', 37),
      memory(40, 159), window(45), memory(50, 147), window(60), memory(60, 145), memory(70, last),
    ];
    expect(summarize(run(147), meta).tensorsGrowth).toBe(0);
    expect(summarize(run(150), meta).tensorsGrowth).toBe(3);
    // one reading after the first window end: nothing to compare it with
    expect(summarize(run(147).slice(0, -2), meta).tensorsGrowth).toBeNull();
  });

  it('in a run that ends mixed, compares from its last change, and a reading taken before its step\'s window closed is no window end\'s', () => {
    const memory = (step: number, numTensors: number): EngineEvent => ({ type: 'memory', step, phase: 'mixed', memory: { numTensors, numBytes: 4 * numTensors } });
    const window = (step: number): EngineEvent => ({ type: 'window', window: { step, loss: 1, 'lossChange%': null, modules: {} } });
    // micro, windows of 25, joint phases of 200: switches at 75, then at 250; 8 modules
    // froze at 275, a read-back flushed before the freeze and that step's window (207, the
    // window's sums in), 40 tensors fewer after. From the first switch, and the reading at
    // 275 taken for a window end's, it read -14 with no leak
    const events = [
      change('blocks.0.fc1', 'full', 'joint', 75), window(75), memory(75, 190), window(100), memory(100, 181),
      change('blocks.1.fc1', 'full', 'joint', 250), window(250), memory(250, 205), memory(260, 207), memory(270, 207),
      memory(275, 207), change('blocks.0.fc1', 'joint', 'lora', 275), window(275), memory(280, 167), window(300), memory(300, 165),
    ];
    // and the run's last freezes at its end, after its last read-back, which no reading saw
    const last = (n: number) => [...events, memory(310, n), change('blocks.1.fc1', 'joint', 'lora', 310), window(310)];
    expect(summarize(last(167), meta).tensorsGrowth).toBe(0); // 280 against 310, both between window ends
    expect(summarize(last(170), meta).tensorsGrowth).toBe(3); // a leak of 3 shows
  });

  it('orders families by the mean step of their switches, then the first', () => {
    const sw = (module: string, step: number) => ({ module, step, rank: 4 });
    const order = switchOrder([sw('blocks.0.fc1', 50), sw('blocks.1.fc1', 150), sw('blocks.0.key', 75), sw('blocks.1.key', 100), sw('blocks.2.query', 60), sw('blocks.3.query', 140)]);
    expect(order).toEqual([
      { family: 'key', modules: 2, first: 75, mean: 87.5, last: 100 },
      { family: 'fc1', modules: 2, first: 50, mean: 100, last: 150 },
      { family: 'query', modules: 2, first: 60, mean: 100, last: 140 },
    ]);
  });

  it('a full run saves nothing and has no switch order; static LoRA is in LoRA from step 0', () => {
    const f = summarize([progress(1, 20, 'full')], meta);
    expect(f.flops.saved).toBe(0);
    expect(f.switchOrder).toEqual([]);
    const ids = ['blocks.0.query', 'blocks.0.value'];
    const l = summarize([...ids.map((id) => change(id, 'full', 'lora', 0)), progress(1, 20, 'lora')], meta);
    expect(l.phases.lora.share).toBe(1);
    expect(l.flops.total).toBe(20 * flopsPerStep(model, { batchSize: 4, ranks: { [ids[0]!]: 4, [ids[1]!]: 4 }, frozen: new Set(ids) }));
  });
});
