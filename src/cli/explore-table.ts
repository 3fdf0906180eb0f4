// The text tables of `npm run explore`: one replay beside the real run, or a sweep
// (modules by value: the step each would switch at), with the predicted shares.
import { recordedSteps, type Predicted, type Replay } from '../engine/explore/replay';
import { exactEnd, exactness, type RecordedRun } from '../engine/explore/recorded';
import type { PredictedShares } from '../engine/explore/shares';
import type { SweepResult } from '../engine/explore/sweep';
import { TRAINABLE_SHARE_LABEL } from '../engine/trainable-share';
import { maxOf } from '../engine/extremes';

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const pad = (s: string, n: number) => s.padStart(n);

/** `175 r8`, `~200 r4` after the exactness boundary, `-` for no switch. */
export function cell(p: Predicted | undefined, withRank = true): string {
  if (!p) return '-';
  return `${p.exact ? '' : '~'}${p.step}${withRank ? ` r${p.rank}` : ''}`;
}

export const SHARE_ROWS: [keyof PredictedShares, string][] = [
  ['trainableMean', `${TRAINABLE_SHARE_LABEL} (mean)`],
  ['trainableEnd', `${TRAINABLE_SHARE_LABEL} (end)`],
  ['loraSteps', 'steps all in LoRA'],
  ['moduleLora', 'module-steps in LoRA'],
  ['flopsSaved', 'matmul FLOPs saved'],
];

export function boundaryNote(run: RecordedRun): string {
  const { until, by } = exactness(run);
  if (until === null || by === null) return 'exact for the whole run: it made no switch, so every window was measured in full training.';
  return `${exactEnd(until, by)}. ~ marks estimates after it. A full-training run (--mode full) with one window length replays exactly for its whole length.`;
}

export function replayTable(run: RecordedRun, r: Replay, real: PredictedShares | null): string {
  const realBy = new Map(run.real.map((s) => [s.module, s]));
  const w = maxOf(run.moduleIds.map((id) => id.length), 20);
  const lines = [`${'module'.padEnd(w)} ${pad('real', 10)} ${pad('predicted', 10)}`];
  for (const id of run.moduleIds) {
    const s = realBy.get(id);
    lines.push(`${id.padEnd(w)} ${pad(s ? `${s.step} r${s.rank}` : '-', 10)} ${pad(cell(r.byModule[id]), 10)}`);
  }
  lines.push('', `shares over steps 1 to ${recordedSteps(run)}, those its windows cover`);
  for (const [k, label] of SHARE_ROWS) lines.push(`${label.padEnd(w)} ${pad(real ? pct(real[k]) : '', 10)} ${pad(pct(r.shares[k]), 10)}`);
  return lines.join('\n');
}

export function sweepTable(run: RecordedRun, s: SweepResult): string {
  const w = maxOf(run.moduleIds.map((id) => id.length), 20);
  const col = maxOf(s.axis.values.map((v) => String(v).length + 1), 7);
  const row = (label: string, cells: string[]) => `${label.padEnd(w)}${cells.map((c) => pad(c, col)).join('')}`;
  const lines = [row(s.axis.key, s.axis.values.map(String))];
  for (const id of run.moduleIds) lines.push(row(id, s.cells.map((c) => cell(c.byModule[id], false))));
  lines.push('', `shares over steps 1 to ${recordedSteps(run)}, those its windows cover`);
  for (const [k, label] of SHARE_ROWS) lines.push(row(label, s.cells.map((c) => pct(c.shares[k]))));
  return lines.join('\n');
}
