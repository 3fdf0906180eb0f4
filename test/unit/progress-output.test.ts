// What train writes to stderr, read as a terminal shows it: the progress bar redraws in
// place, and every switch and evaluation stays on the screen above it (the next bar
// erased them); piped, one line an event.
import { describe, expect, it } from 'vitest';
import type { EngineEvent } from '../../src/engine/events';
import { ProgressOutput } from '../../src/cli/progress';

/** The lines a terminal shows after `text`: \r goes to the line's start, ESC[2K clears it, \n starts the next. */
function screen(text: string): string[] {
  const lines = [''];
  let col = 0;
  for (let i = 0; i < text.length; i++) {
    if (text.startsWith('\x1b[2K', i)) { lines[lines.length - 1] = ''; i += 3; continue; }
    const ch = text[i]!;
    if (ch === '\r') col = 0;
    else if (ch === '\n') { lines.push(''); col = 0; }
    else {
      const row = lines[lines.length - 1]!;
      lines[lines.length - 1] = row.slice(0, col) + ch + row.slice(col + 1);
      col++;
    }
  }
  return lines;
}

const progress = (step: number): EngineEvent => ({ type: 'progress', phase: 'full', samplesPerSec: 100, seconds: 1, records: [{ step, epoch: 0, loss: 2, lr: 1e-3 }] });
const phase: EngineEvent = { type: 'phase', change: { module: 'blocks.0.query', from: 'full', to: 'joint', step: 10, rank: 4, decidedBy: 'forced' } };
const evaluation: EngineEvent = { type: 'evaluation', evaluation: { step: 20, loss: 1.5, accuracy: 0.5 } } as EngineEvent;
const run = [progress(10), phase, progress(20), evaluation, progress(30)];

describe('train\'s stderr', () => {
  it('on a terminal keeps every switch and evaluation above the bar, which ends on its own line', () => {
    const out = new ProgressOutput(true, 30);
    const shown = screen(run.map((e) => out.text(e)).join('') + out.end());
    expect(shown).toEqual([
      'step 10: blocks.0.query full -> joint rank 4 (forced)',
      'step 20: test loss 1.5000, accuracy 50.0%',
      expect.stringMatching(/^\[#+\] step 30\/30 loss 2\.0000/),
      '',
    ]);
  });

  it('piped, writes one line an event', () => {
    const out = new ProgressOutput(false, 30);
    const text = run.map((e) => out.text(e)).join('') + out.end();
    expect(text.split('\n')).toHaveLength(run.length + 1);
    expect(text).not.toContain('\r');
  });
});
