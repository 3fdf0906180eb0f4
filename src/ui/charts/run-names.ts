// Names for runs side by side, by what differs in their configs (as TensorBoard and
// W&B legends do): `#2 prelora, w=3, module` beside `#1 prelora, w=2.5, module`, not
// only `#1` and `#2`. The mode always shows; other fields only where runs differ. The
// number is the run's own (its row's), not its place on the page.
import type { RunConfig } from '../../engine/config';
import { runHandle } from '../store/runs';

type Field = [prefix: string, get: (c: RunConfig) => string | number];

/** Settings of the PreLoRA policy: named for PreLoRA runs only (the rule always). */
const POLICY: Field[] = [
  ['w=', (c) => c.prelora.weightThreshold],
  ['loss=', (c) => c.prelora.lossThreshold],
  ['patience=', (c) => c.prelora.patience],
  ['', (c) => c.prelora.metric],
  ['', (c) => c.prelora.layerWeights],
  ['ranks ', (c) => `${c.prelora.minRank}-${c.prelora.maxRank}`],
  ['window ', (c) => c.prelora.windowSteps],
];

/** Settings of any run. */
const RUN: Field[] = [
  ['', (c) => c.data.dataset],
  ['', (c) => `${c.model.width}x${c.model.depth}`],
  ['lr=', (c) => c.optim.lr],
  ['steps ', (c) => c.schedule.steps],
  ['seed ', (c) => c.seed],
];

const mode = (c: RunConfig) => (c.prelora.mode === 'lora' ? `lora r${c.prelora.rank}` : c.prelora.mode);
const differ = (fields: Field[], pool: RunConfig[]) => fields.filter(([, get]) => new Set(pool.map((c) => String(get(c)))).size > 1);

/** Each run's name: its handle (runHandle: `#3`, or a renamed run's name), its mode (and rule), and every field in which the runs differ. */
export function runNames(runs: { label: string; config: RunConfig }[]): string[] {
  const configs = runs.map((r) => r.config);
  const policy = differ(POLICY, configs.filter((c) => c.prelora.mode === 'prelora'));
  const run = differ(RUN, configs);
  return runs.map(({ label, config: c }) => {
    const fields = c.prelora.mode === 'prelora' ? [['', (x: RunConfig) => x.prelora.rule] as Field, ...policy, ...run] : run;
    const handle = runHandle(label);
    return [`${handle}${handle.startsWith('#') ? ' ' : ': '}${mode(c)}`, ...fields.map(([prefix, get]) => `${prefix}${get(c)}`)].join(', ');
  });
}
