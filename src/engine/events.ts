// What the engine reports, as plain data: the worker forwards these as they are, the
// CLI writes them to the run log, the page's store turns them into charts.
import type { PhaseChange } from './prelora';
import type { WindowRecord } from './policy';

export interface StepRecord {
  /** 1-based count of completed steps */
  step: number;
  epoch: number;
  loss: number;
  lr: number;
}

export interface MemoryReading {
  numTensors: number;
  numBytes: number;
  /** WebGPU/WebGL only: bytes the backend holds on the GPU, pooled buffers included */
  numBytesInGPU?: number;
}

export interface Evaluation {
  step: number;
  loss: number;
  accuracy: number;
  count: number;
}

/** The run as a whole: `full` until a module leaves full training, `lora` once all targeted modules froze. */
export type RunPhase = 'full' | 'mixed' | 'lora';

export type EngineEvent =
  /** steps since the last read-back; `seconds` of wall time they took, all in `phase` */
  | { type: 'progress'; records: StepRecord[]; phase: RunPhase; samplesPerSec: number; seconds: number }
  | { type: 'memory'; step: number; phase: RunPhase; memory: MemoryReading }
  | { type: 'evaluation'; evaluation: Evaluation }
  | { type: 'window'; window: WindowRecord }
  | { type: 'phase'; change: PhaseChange }
  /** parameter counts (adapters included in total) after every change */
  | { type: 'params'; step: number; total: number; trainable: number; optimizerBytes: number; memory: MemoryReading };
