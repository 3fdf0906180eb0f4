// An export that fails says so, naming the file and (where a run is too long for one
// string) why; one that works says nothing.
import { describe, expect, it } from 'vitest';
import { attempt } from '../../src/ui/export/attempt';

describe('attempt', () => {
  it('is null when the file was made', async () => {
    let made = false;
    expect(await attempt('the plan', async () => { made = true; })).toBeNull();
    expect(made).toBe(true);
  });

  it("names the file and V8's reason, and why where a string is past V8's longest", async () => {
    // a string of 2^29 characters is past V8's longest: the same RangeError a long run's JSON met
    const tooLong = () => 'x'.repeat(2 ** 29);
    expect(await attempt('the metrics and events (JSON)', tooLong))
      .toBe('could not export the metrics and events (JSON): Invalid string length: the run\'s record is longer than the longest text this browser makes');
    expect(await attempt('the CSV tables', async () => { throw new Error('chunk failed to load'); })).toBe('could not export the CSV tables: chunk failed to load');
  });
});
