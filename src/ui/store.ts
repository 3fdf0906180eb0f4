// The page's state: one zustand store filled by worker events; views select atoms.
import { create } from 'zustand';
import type { BackendInfo } from '../engine/backend';
import type { Evaluation, StepRecord } from '../engine/trainer';
import type { WorkerEvent } from '../worker/protocol';

/** Points kept for the loss chart; older ones are thinned so long runs stay smooth. */
const MAX_POINTS = 400;

export interface PlaygroundState {
  status: 'idle' | 'starting' | 'training' | 'done';
  backend: BackendInfo | null;
  step: number;
  samplesPerSec: number;
  losses: StepRecord[];
  evaluations: Evaluation[];
  error: string | null;
  onWorkerEvent: (e: WorkerEvent) => void;
  reset: () => void;
  setStatus: (s: PlaygroundState['status']) => void;
}

function thin(points: StepRecord[]): StepRecord[] {
  return points.length <= MAX_POINTS ? points : points.filter((_, i) => i % 2 === 0 || i >= points.length - MAX_POINTS / 4);
}

export const useStore = create<PlaygroundState>()((set) => ({
  status: 'idle',
  backend: null,
  step: 0,
  samplesPerSec: 0,
  losses: [],
  evaluations: [],
  error: null,
  setStatus: (status) => set({ status }),
  reset: () => set({ step: 0, samplesPerSec: 0, losses: [], evaluations: [], error: null }),
  onWorkerEvent: (e) => set((s) => {
    switch (e.type) {
      case 'ready': return { backend: e.backend };
      case 'started': return { status: 'training' };
      case 'done': return { status: 'done' };
      // a refused start, or a crash, leaves nothing running
      case 'error': return { error: e.message, status: e.fatal || s.status === 'starting' ? 'idle' : s.status };
      case 'engine': {
        const ev = e.event;
        if (ev.type === 'progress') {
          const last = ev.records.at(-1);
          return {
            losses: thin([...s.losses, ...ev.records]),
            step: last ? last.step : s.step,
            samplesPerSec: ev.samplesPerSec || s.samplesPerSec,
          };
        }
        if (ev.type === 'evaluation') return { evaluations: [...s.evaluations, ev.evaluation] };
        return {};
      }
    }
  }),
}));
