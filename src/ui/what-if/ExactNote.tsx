// Up to where a replay is exact, and why: said the same way on every what-if view (the
// reason in the engine's words, which `npm run explore` prints too).
import { exactEnd, type ExactBy } from '../../engine/explore/recorded';

export function exactText(exactUntil: number | null, by: ExactBy | null, mode: string): string {
  if (exactUntil === null || by === null) {
    return mode === 'full'
      ? 'Exact for the whole run: a full-training run made no switch, so every window was measured in full training.'
      : 'Exact so far: no module has switched yet.';
  }
  const why = exactEnd(exactUntil, by);
  return `${why[0]!.toUpperCase()}${why.slice(1)}. So later predictions (~, hatched) are estimates. ` +
    'To tune thresholds, train a full run and leave its window as it is: it replays exactly for its whole length.';
}

export function ExactNote({ exactUntil, exactBy, mode }: { exactUntil: number | null; exactBy: ExactBy | null; mode: string }) {
  return <p className="exact-note" data-testid="exact-note" data-exact-until={exactUntil ?? ''}>{exactText(exactUntil, exactBy, mode)}</p>;
}
