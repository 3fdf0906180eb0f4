// The runs this browser keeps: each with its step, why and when it was last saved, its
// backend and size; Resume brings it back paused where it was (after a reload, a crash
// or a lost GPU the page says which were interrupted; one the user reset, replaced or
// stopped by choosing another backend says so instead); names can be changed (double-click, or Rename from the keyboard);
// Delete frees the space. Problems reading them are shown, never swallowed.
import { useState } from 'react';
import { formatBytes } from '../../engine/config';
import { useStore } from '../store';
import { selectLive, selectOpenBlocked, selectOpenNote } from '../store/selectors';
import { savedBytes, type SavedRunInfo } from '../../worker/saved-runs';

const REASONS: Record<SavedRunInfo['reason'], string> = { interval: 'while training', pause: 'paused', done: 'finished' };
/** A run the user stopped is said to be so (it is not offered as interrupted): Resume still brings it back from its checkpoint. */
const STOPPED: Record<NonNullable<SavedRunInfo['stopped']>['by'], string> = { reset: 'reset', replaced: 'stopped for another run', backend: 'stopped for another backend' };
const saidWhy = (r: SavedRunInfo) => `${REASONS[r.reason]}, ${new Date(r.savedAt).toLocaleString()}${r.stopped ? `; ${STOPPED[r.stopped.by]} at step ${r.stopped.step}` : ''}`;

function Name({ info }: { info: SavedRunInfo }) {
  const rename = useStore((s) => s.renameSaved);
  const [text, setText] = useState<string | null>(null);
  if (text === null) {
    // double-click for the mouse; the button for the keyboard (and screen readers), named for the run
    return (
      <>
        <span data-testid="saved-name" onDoubleClick={() => setText(info.name)} title="double-click to rename">{info.name}</span>{' '}
        <button data-testid="saved-rename-start" aria-label={`rename "${info.name}"`} onClick={() => setText(info.name)}>Rename</button>
      </>
    );
  }
  const done = () => { void rename(info.id, text); setText(null); };
  return (
    <input aria-label="saved run name" data-testid="saved-rename" value={text} autoFocus maxLength={200}
      onChange={(e) => setText(e.target.value)} onBlur={done} onKeyDown={(e) => { if (e.key === 'Enter') done(); if (e.key === 'Escape') setText(null); }} />
  );
}

export function SavedRunsPanel() {
  const saved = useStore((s) => s.savedRuns);
  const problem = useStore((s) => s.savedProblem);
  const interrupted = useStore((s) => s.interrupted);
  // the run the worker holds now is the one being saved: resuming it would replace it with its own past
  // (a string, not the runs: this panel does not re-render at every step)
  const held = useStore((s) => s.runs.find((r) => r.id === s.heldRunId)?.savedAs ?? null);
  // the live run (training or paused) saves on into its entry: a Delete came back at its next save, without its data
  const saving = useStore((s) => selectLive(s)?.savedAs ?? null);
  // what Resume or Open does to the run the worker holds, said before it happens
  const note = useStore(selectOpenNote);
  const blocked = useStore(selectOpenBlocked);
  const { resumeSaved, deleteSaved } = useStore.getState();
  if (!saved.length && !problem) return null;
  const total = saved.reduce((n, r) => n + savedBytes(r), 0);
  const unfinished = saved.filter((r) => interrupted.includes(r.id));
  return (
    <section className="panel saved" data-testid="saved-panel">
      <h2>Saved runs <small>in this browser, {formatBytes(total)}</small></h2>
      {unfinished.length > 0 && (
        <p className="offer" data-testid="resume-offer">
          {unfinished.length === 1 ? `"${unfinished[0]!.name}" was` : `${unfinished.length} runs were`} interrupted (a reload, a crash or a lost GPU):
          resume {unfinished.length === 1 ? 'it' : 'one'} below, where it was last saved.
        </p>
      )}
      {problem && <pre className="error" data-testid="saved-problem">{problem}</pre>}
      <table className="runs">
        <thead><tr><th>name</th><th>step</th><th>saved</th><th>backend</th><th>size</th><th /></tr></thead>
        <tbody>
          {saved.map((r) => (
            <tr key={r.id} data-testid="saved-row" data-saved={r.id}>
              <td><Name info={r} /></td>
              <td>{r.step} / {r.config.schedule.steps}</td>
              <td data-testid="saved-why">{saidWhy(r)}</td>
              <td>{r.backend}</td>
              <td data-testid="saved-size" data-points={r.points.map((p) => p.step).join(',')}
                title={[
                  `latest checkpoint ${formatBytes(r.bytes)}; ${r.points.length} branch points (steps ${r.points.map((p) => p.step).join(', ') || 'none'}) for what-if branches`,
                  ...(r.data ? [r.data.kept ? `with its uploaded data (${r.data.name}, ${r.data.images} images)` : `its uploaded data (${r.data.name}) was too large to keep: upload it again to resume`] : []),
                ].join('; ')}>
                {formatBytes(savedBytes(r))}{r.data ? (r.data.kept ? ' with data' : ' (data not kept)') : ''}
              </td>
              <td>
                <button data-testid="saved-resume" disabled={held === r.id || blocked} title={held === r.id ? 'this is the run training now' : (note ?? undefined)}
                  onClick={() => resumeSaved(r.id)}>{r.reason === 'done' ? 'Open' : 'Resume'}</button>
                <button data-testid="saved-delete" disabled={saving === r.id} title={saving === r.id ? 'this run saves here as it trains: Reset it first (its checkpoints stay until you delete them)' : undefined}
                  onClick={() => void deleteSaved(r.id)}>Delete</button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
