// The worker's dataset preview checks the config as a start does before it makes
// anything: a message is only type-checked at the boundary, and a synthetic set of
// 10^10 pixels or of -1 channels hung the worker or threw a RangeError naming no field.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeConfig, type DeepPartial, type RunConfig } from '../../src/engine/config';
import { TrainingHost } from '../../src/worker/host';
import type { WorkerEvent } from '../../src/worker/protocol';

function preview(more: DeepPartial<RunConfig>): Promise<WorkerEvent[]> {
  const events: WorkerEvent[] = [];
  const host = new TrainingHost({
    post: (e) => events.push(e),
    initBackend: () => Promise.reject(new Error('a preview needs no backend')),
    readPublic: async (p) => new Uint8Array(await readFile(join('public', p))),
  });
  const config = makeConfig('micro', { ...more, data: { dataset: 'synthetic', ...more.data } });
  return host.receive({ type: 'previewDataset', config }).then(() => events);
}

describe("the worker's dataset preview", () => {
  it('describes a valid synthetic set', async () => {
    const events = await preview({ data: { trainSize: 20, testSize: 4 } });
    expect(events).toMatchObject([{ type: 'dataset', source: 'synthetic', info: { train: 20, test: 4 } }]);
  });

  it("answers a config a start would refuse with the start's named messages, making nothing", async () => {
    expect(await preview({ model: { channels: -1 } }))
      .toEqual([{ type: 'error', runId: null, message: 'model.channels must be a whole number >= 1 (got -1)' }]);
    expect(await preview({ model: { channels: 1.5 } }))
      .toEqual([{ type: 'error', runId: null, message: 'model.channels must be a whole number >= 1 (got 1.5)' }]);
    // 160 bytes by the size estimate, 10^10 pixels to draw
    const [event] = await preview({ data: { trainSize: 16, testSize: 0 }, model: { imageSize: 100_000, channels: 1e-9 } });
    expect(event).toMatchObject({ type: 'error', runId: null });
    const message = event?.type === 'error' ? event.message : '';
    expect(message).toMatch(/^data\.testSize must be a whole number in \[1, [\d,]+\] \(got 0\)$/m);
    expect(message).toMatch(/^model\.channels must be a whole number >= 1 \(got 1e-9\)$/m);
  });
});
