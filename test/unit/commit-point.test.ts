// The compiled step's commit point: a launch before it may write only the recording's
// scratch (a step begun ahead of a decision and withdrawn leaves nothing changed), so a
// recording that breaks that is refused when it is made, naming the launch and binding.
import { describe, expect, it } from 'vitest';
import { checkAhead } from '../../src/engine/compiled/record';
import type { Dispatch, Kernel } from '../../src/engine/ops/webgpu/kernel';

/** A launch of a kernel that reads X and writes Y, on the buffers named. */
function launch(key: string, x: string, y: string): Dispatch<string> {
  const kernel = { key, name: key, bindings: [{ name: 'X', access: 'read' }, { name: 'Y', access: 'rw' }], params: [], wgsl: '' } as unknown as Kernel;
  return { kernel, buffers: [x, y], params: [], workgroups: 1 };
}

const scratch = (b: string) => b.startsWith('scratch');

describe('the commit point of a recorded step', () => {
  const forward = launch('forward', 'weight', 'scratch:activation');
  const adamw = launch('adamw', 'scratch:grad', 'weight');

  it('takes launches before it that write only scratch, whatever they read or what follows writes', () => {
    expect(() => checkAhead([forward, adamw], 1, scratch)).not.toThrow();
  });

  it('refuses a launch before it that writes what outlives the step, naming the launch and the binding', () => {
    expect(() => checkAhead([forward, adamw], 2, scratch)).toThrow(/adamw writes Y, which outlives the step, before the commit point/);
    expect(() => checkAhead([launch('merge-in-place', 'scratch:a', 'weight'), forward], 1, scratch)).toThrow(/merge-in-place writes Y/);
  });
});
