// `--init FILE|DIR` reads, on a real file: only the byte ranges of the tensors the model
// loads come off the disk, never an ignored tensor's (a Hub checkpoint's pooler), so a
// file of any size loads as long as its header and the model's own tensors fit; the
// weights loaded are the ones stored, wherever they lie in the file.
import { closeSync, existsSync, openSync, readFileSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readInitModel } from '../../src/cli/init-model';
import { PRESETS } from '../../src/engine/config';
import { hubTensors } from '../../src/engine/io/export-model';
import { parseHeader, writeSafetensors, type WritableTensor } from '../../src/engine/io/safetensors';
import { snapshotModel } from '../../src/engine/io/snapshot';
import { ViT } from '../../src/engine/vit';
import { tempDir } from '../helpers/temp';
import { useBackend } from '../helpers/tf';

const MODEL = PRESETS.micro.model;
const POOLER = 'vit.pooler.dense.weight';

async function values(model: ViT): Promise<Float32Array[]> {
  return Promise.all(model.namedVariables().map(async ([, v]) => (await v.data()) as Float32Array));
}

/** Bytes this process has read so far, by any thread (Linux counts every read and pread). */
const IO = '/proc/self/io';
const bytesRead = () => Number(/^rchar: (\d+)$/m.exec(readFileSync(IO, 'utf8'))![1]);

/** The weights `init` loads into a fresh model. */
async function loaded(init: Awaited<ReturnType<typeof readInitModel>>): Promise<Float32Array[]> {
  const model = new ViT(MODEL, 1);
  init.prepare(model);
  const out = await values(model);
  model.dispose();
  return out;
}

describe('--init reads only the tensors the model loads', () => {
  const dir = tempDir('prelora-init-model-');
  let source: ViT;
  let params: [string, WritableTensor][];

  beforeAll(async () => {
    await useBackend('wasm');
    source = new ViT(MODEL, 9);
    params = hubTensors(await snapshotModel(source), false);
  });

  it.runIf(existsSync(IO))('loads the stored weights and reads none of an ignored tensor\'s bytes', async () => {
    const pooler = Float32Array.from({ length: 2 ** 20 }, (_, i) => i); // 4 MiB, the model's are 0.1 MiB
    const file = join(dir, 'model.safetensors');
    writeFileSync(file, writeSafetensors([...params, [POOLER, { shape: [2 ** 10, 2 ** 10], data: pooler }]]));
    const { size } = statSync(file);
    const before = bytesRead();
    const init = await readInitModel(file, MODEL);
    const read = bytesRead() - before;
    expect(init.ignored).toBe(POOLER);
    // the model's tensors were read (so the count does see these reads), the pooler not:
    // 128,130 bytes, where reading the whole file read 4,323,848
    expect(read).toBeGreaterThanOrEqual(size - pooler.byteLength);
    expect(read).toBeLessThan(size - pooler.byteLength + 64 * 2 ** 10);
    expect(await loaded(init)).toEqual(await values(source));
  });

  it('loads a 64 GiB file whose ignored tensor comes first and is all but 0.1 MiB of it', async () => {
    // a sparse file: the pooler's bytes are a hole that costs no disk; the model's tensors
    // lie past 64 GiB. Refused as over 2 GiB when the whole file was read into memory.
    const hole = 2 ** 36;
    const model = writeSafetensors(params);
    const { entries, dataStart } = parseHeader(model, model.length, 'model');
    const header: Record<string, unknown> = { [POOLER]: { dtype: 'F32', shape: [2 ** 17, 2 ** 17], data_offsets: [0, hole] } };
    for (const e of entries) header[e.name] = { dtype: e.dtype, shape: e.shape, data_offsets: [hole + e.begin, hole + e.end] };
    const json = new TextEncoder().encode(JSON.stringify(header).padEnd(Math.ceil(JSON.stringify(header).length / 8) * 8));
    const head = new Uint8Array(8 + json.length);
    new DataView(head.buffer).setUint32(0, json.length, true);
    head.set(json, 8);
    const file = join(dir, 'sparse.safetensors');
    const fd = openSync(file, 'w');
    try {
      writeSync(fd, head, 0, head.length, 0);
      writeSync(fd, model, dataStart, model.length - dataStart, head.length + hole);
    } finally {
      closeSync(fd);
    }
    expect(statSync(file).size).toBe(head.length + hole + model.length - dataStart);
    const init = await readInitModel(file, MODEL);
    expect(init.ignored).toBe(POOLER);
    expect(await loaded(init)).toEqual(await values(source));
  });
});
