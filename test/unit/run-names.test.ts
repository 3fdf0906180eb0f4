// Legend names say what differs between runs: the mode always, the rule for PreLoRA,
// then only the fields in which the runs differ.
import { describe, expect, it } from 'vitest';
import { makeConfig, type DeepPartial, type RunConfig } from '../../src/engine/config';
import { runNames } from '../../src/ui/charts/run-names';

const cfg = (o: DeepPartial<RunConfig>) => makeConfig('nano', o);

describe('runNames', () => {
  it('names a full and two PreLoRA runs by the threshold that differs', () => {
    expect(runNames([
      cfg({ prelora: { mode: 'full' } }),
      cfg({ prelora: { mode: 'prelora', rule: 'module', weightThreshold: 3 } }),
      cfg({ prelora: { mode: 'prelora', rule: 'module', weightThreshold: 2.5 } }),
    ])).toEqual(['#1 full', '#2 prelora, module, w=3', '#3 prelora, module, w=2.5']);
  });

  it('adds the seed when only the seed differs, and static LoRA shows its rank', () => {
    expect(runNames([cfg({ seed: 1, prelora: { mode: 'lora', rank: 8 } }), cfg({ seed: 2, prelora: { mode: 'full' } })]))
      .toEqual(['#1 lora r8, seed 1', '#2 full, seed 2']);
  });
});
