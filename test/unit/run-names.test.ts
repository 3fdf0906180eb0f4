// Legend names say what differs between runs: the mode always, the rule for PreLoRA,
// then only the fields in which the runs differ.
import { describe, expect, it } from 'vitest';
import { makeConfig, type DeepPartial, type RunConfig } from '../../src/engine/config';
import { runNames } from '../../src/ui/charts/run-names';

const cfg = (o: DeepPartial<RunConfig>) => makeConfig('nano', o);
const run = (label: string, o: DeepPartial<RunConfig>) => ({ label, config: cfg(o) });

describe('runNames', () => {
  it('names a full and two PreLoRA runs by the threshold that differs', () => {
    expect(runNames([
      run('#1 full', { prelora: { mode: 'full' } }),
      run('#2 PreLoRA (module)', { prelora: { mode: 'prelora', rule: 'module', weightThreshold: 3 } }),
      run('#3 branch of #2 @25', { prelora: { mode: 'prelora', rule: 'module', weightThreshold: 2.5 } }),
    ])).toEqual(['#1 full', '#2 prelora, module, w=3', '#3 prelora, module, w=2.5']);
  });

  it('adds the seed when only the seed differs, and static LoRA shows its rank', () => {
    expect(runNames([run('#1 LoRA r8', { seed: 1, prelora: { mode: 'lora', rank: 8 } }), run('#2 full', { seed: 2, prelora: { mode: 'full' } })]))
      .toEqual(['#1 lora r8, seed 1', '#2 full, seed 2']);
  });

  it('numbers each run as its row does, not by its place (a reset run leaves a gap); a renamed saved run goes by its name', () => {
    expect(runNames([
      run('#2 PreLoRA (module)', { prelora: { mode: 'prelora', rule: 'module' } }),
      run('#3 branch of #2 @25', { prelora: { mode: 'prelora', rule: 'module', weightThreshold: 3 } }),
      run('baseline run', { prelora: { mode: 'full' } }),
    ])).toEqual(['#2 prelora, module, w=2.5', '#3 prelora, module, w=3', 'baseline run: full']);
  });
});
