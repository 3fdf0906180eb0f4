// One trainable share: trainable parameters over the base model's, wherever it shows.
// A finished run's share (its last params event) and the what-if view's real share
// (its switches replayed from the config) agree; adapters do not enter the base.
import { describe, expect, it } from 'vitest';
import { makeConfig } from '../../src/engine/config';
import { moduleShape } from '../../src/engine/flops';
import { predictShares } from '../../src/engine/explore/shares';
import { countParams } from '../../src/engine/size';
import { trainableShare } from '../../src/engine/trainable-share';
import { FAMILIES } from '../../src/engine/vit-families';

describe('the trainable share', () => {
  it('divides by the base model, so a run\'s share and its replayed share agree', () => {
    const { model } = makeConfig('micro');
    const base = countParams(model);
    const switches = Array.from({ length: model.depth }, (_, l) => FAMILIES.map((f) => ({ module: `blocks.${l}.${f}`, step: 10, rank: 4 }))).flat();
    // what the trainer counts once every module froze: the base less the frozen weights, plus the adapters
    let trainable = base;
    for (const s of switches) {
      const [din, dout] = moduleShape(model, s.module.split('.')[2] as (typeof FAMILIES)[number]);
      trainable += s.rank * (din + dout) - (din * dout + dout);
    }
    const alive = base + switches.reduce((n, s) => { const [din, dout] = moduleShape(model, s.module.split('.')[2] as (typeof FAMILIES)[number]); return n + s.rank * (din + dout); }, 0);
    const replayed = predictShares(model, 16, 40, switches.length, switches, 5).trainableEnd;
    expect(trainableShare(model, trainable)).toBeCloseTo(replayed, 12);
    expect(trainableShare(model, trainable)).not.toBeCloseTo(trainable / alive, 2); // not over every variable alive
    expect(trainableShare(model, base)).toBe(1);
  });
});
