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
    const d = c.decidedBy;
    const why = typeof d === 'object' ? `${d.metric} ${d.rule === 'global' ? 'family mean ' : ''}${d.value.toFixed(3)}` : d;
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

const CLEAR_LINE = '\r\x1b[2K';

/**
 * What train writes to stderr, event by event. Not on a terminal: one line each. On a
 * terminal the progress bar redraws itself in place, and every other line (a switch, an
 * evaluation) is written above it and stays: it was written as the bar was, without a
 * newline, so the next bar erased it (a run's 24 switches and its evaluations were gone).
 */
export class ProgressOutput {
  private bar: string | null = null;

  constructor(private readonly tty: boolean, private readonly totalSteps: number) {}

  /** The text to write for `e` ('' for none). */
  text(e: EngineEvent): string {
    const line = progressLine(e, this.totalSteps);
    if (line === null) return '';
    if (!this.tty) return `${line}\n`;
    if (e.type === 'progress') {
      this.bar = line;
      return `${CLEAR_LINE}${line}`;
    }
    return `${CLEAR_LINE}${line}\n${this.bar ?? ''}`;
  }

  /** The text that ends the output: the bar's line closed. */
  end(): string {
    return this.tty && this.bar !== null ? '\n' : '';
  }
}
