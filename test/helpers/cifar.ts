// A CIFAR-10 binary batch made in code: `count` records of label i % 10 whose pixels
// are a function of the label and the byte's position, written to a fresh folder.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './temp';

export function cifarBatch(count: number): Uint8Array {
  const records = new Uint8Array(count * 3073);
  for (let i = 0; i < count; i++) {
    records[i * 3073] = i % 10;
    for (let k = 1; k < 3073; k++) records[i * 3073 + k] = ((i % 10) * 25 + (k % 97)) % 256;
  }
  return records;
}

/** Writes files into a new temporary folder and returns it. */
export function writeFixtures(prefix: string, files: Record<string, Uint8Array>): string {
  const dir = tempDir(prefix);
  for (const [name, bytes] of Object.entries(files)) writeFileSync(join(dir, name), bytes);
  return dir;
}
