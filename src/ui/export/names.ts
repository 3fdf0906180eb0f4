// File names that say what a file is of: `prelora-1-prelora-module-nano-2026-11-30-1405`
// (the run's label, its preset, when it started), or `prelora-all-runs-<date>` for a
// chart of every run.
import type { RunView } from '../store/runs';

const slug = (text: string) => text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');

/** `2026-11-30-1405`, in local time. */
export function dateStamp(ms: number): string {
  const d = new Date(ms);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}-${two(d.getHours())}${two(d.getMinutes())}`;
}

/** A run's file stem; a saved run's name already says its preset and start (or is what the user called it): it alone. */
export function runStem(run: Pick<RunView, 'label' | 'named' | 'preset' | 'startedAt'>): string {
  return (run.named ? ['prelora', slug(run.label)] : ['prelora', slug(run.label), run.preset, dateStamp(run.startedAt)]).filter(Boolean).join('-');
}

export const allRunsStem = (now = Date.now()) => `prelora-all-runs-${dateStamp(now)}`;
