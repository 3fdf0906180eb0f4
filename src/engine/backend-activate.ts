// Activating a backend: try each candidate in turn and say why one was passed over.
import * as tf from '@tensorflow/tfjs';
import type { BackendInfo, Candidate } from './backend';
import { setKernels, stepPath } from './kernel-path';
import { messageOf } from './message-of';

/**
 * Activate the first candidate that starts. `tf.setBackend` throws for a name that
 * was never registered and resolves false when initialisation fails: both count as
 * a failure, and the next candidate's reason says what failed before it.
 */
export async function activate(candidates: Candidate[]): Promise<BackendInfo> {
  const failures: string[] = [];
  for (const c of candidates) {
    let ok: boolean;
    try {
      ok = await tf.setBackend(c.name);
    } catch (err) {
      failures.push(`${c.name}: ${messageOf(err)}`);
      continue;
    }
    if (ok) {
      await tf.ready();
      setKernels(c.kernels ?? 'compiled');
      const before = failures.length ? ` (${failures.join('; ')})` : '';
      return { name: c.name, reason: c.reason + before, kernels: stepPath() };
    }
    failures.push(`${c.name} failed to initialise`);
  }
  throw new Error(`no tfjs backend could start: ${failures.join('; ')}`);
}
