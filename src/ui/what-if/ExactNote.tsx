// Up to where a replay is exact, and why: said the same way on every what-if view.
export function exactText(exactUntil: number | null, mode: string): string {
  if (exactUntil === null) {
    return mode === 'full'
      ? 'Exact for the whole run: a full-training run made no switch, so every window was measured in full training.'
      : 'Exact so far: no module has switched yet.';
  }
  return `Exact up to step ${exactUntil}, the run's first real switch. After it every module's statistics depend on that ` +
    'switch (its re-warm, its frozen base), so later predictions (~, hatched) are estimates. To tune thresholds, train a full run: it replays exactly for its whole length.';
}

export function ExactNote({ exactUntil, mode }: { exactUntil: number | null; mode: string }) {
  return <p className="exact-note" data-testid="exact-note" data-exact-until={exactUntil ?? ''}>{exactText(exactUntil, mode)}</p>;
}
