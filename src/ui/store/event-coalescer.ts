// The worker's events reach the store in batches: what only feeds the charts and tables
// (a run's progress, windows, ticks, saves) waits for the next flush, so a fast run draws
// a few times a second instead of at every read-back; anything else (a state, an error,
// an answer to a click) flushes at once, after what came before it, in order.
//
// Why: micro on wasm with a window every 5 steps and a save every 10 sent some 20 events a
// second, each its own store update and render; the page's main thread was 90% in long
// tasks (22.8 s of 25.3 s measured), a read of its step counter took 5 to 26 s, and the
// saved-runs e2e test timed out waiting for a row.
import type { ClientEvent } from '../../worker/protocol';

/** The events that may wait for the next flush: they only add to what is drawn. */
const DEFERRABLE: ReadonlySet<ClientEvent['type']> = new Set(['engine', 'tick', 'saved']);

/** The shortest wait between two flushes (ms): at most ten batches a second. */
export const MIN_FLUSH_MS = 100;
/**
 * The share of the page's time a flush may take with its render: the next waits
 * (1 / share - 1) times as long as the last took, so a heavy page draws less often
 * rather than doing nothing else.
 */
export const FLUSH_SHARE = 0.25;

export class EventCoalescer {
  private queue: ClientEvent[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** how long the last flush took, with the render it caused (ms) */
  private lastMs = 0;

  constructor(private readonly apply: (events: ClientEvent[]) => void) {}

  push(e: ClientEvent): void {
    this.queue.push(e);
    if (!DEFERRABLE.has(e.type)) return this.flush();
    this.timer ??= setTimeout(() => this.flush(), Math.max(MIN_FLUSH_MS, this.lastMs * (1 / FLUSH_SHARE - 1)));
  }

  /** Apply what is queued now, in the order it came. */
  flush(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    const events = this.queue;
    if (!events.length) return;
    this.queue = [];
    const start = performance.now();
    this.apply(events);
    // taken in a microtask queued after the update, so that a render React does in a
    // microtask counts too (not checked inside React; the whole page measured 23-25% in
    // long tasks with it, the share this wait aims at)
    queueMicrotask(() => { this.lastMs = performance.now() - start; });
  }
}
