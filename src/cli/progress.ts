// One human line per engine event worth showing: a progress bar with throughput,
// and the phase changes and evaluations as they happen.
import type { EngineEvent } from '../engine/events';

export function progressLine(e: EngineEvent, totalSteps: number): string | null {
  if (e.type === 'progress') {
    const last = e.records.at(-1);
    if (!last) return null;
    const width = 24;
    const done = Math.round((width * last.step) / totalSteps);
    const bar = '#'.repeat(done) + '.'.repeat(Math.max(0, width - done));
    return `[${bar}] step ${last.step}/${totalSteps} loss ${last.loss.toFixed(4)} lr ${last.lr.toExponential(2)} ` +
      `${e.samplesPerSec.toFixed(1)} samples/s (${e.phase})`;
  }
  if (e.type === 'phase') {
    const c = e.change;
    const why = typeof c.decidedBy === 'object' ? `${c.decidedBy.metric} ${c.decidedBy.value.toFixed(3)}` : c.decidedBy;
    return `step ${c.step}: ${c.module} ${c.from} -> ${c.to}${c.rank ? ` rank ${c.rank}` : ''} (${why})`;
  }
  if (e.type === 'evaluation') {
    const v = e.evaluation;
    return `step ${v.step}: test loss ${v.loss.toFixed(4)}, accuracy ${(100 * v.accuracy).toFixed(1)}%`;
  }
  if (e.type === 'deviceLost') return `step ${e.loss.step}: ${e.loss.message}`;
  if (e.type === 'diverged') return `step ${e.divergence.step}: diverged (loss ${e.divergence.loss}, gradient norm ${e.divergence.gradNorm})`;
  return null;
}
