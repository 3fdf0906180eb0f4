// A GEMM microbenchmark on the GPU machine (Node + Dawn): the linear layer's forward and
// input-gradient kernels as src makes them (base.json, and any EXTRA=a.json,b.json made
// by kernels.ts from other code) against written-out variants (gen.mjs, listed in
// VFILE), at the shapes of tiny and small at batch 128 (SHAPES: [[M, K, N], ...]). Each
// product is timed with timestamps around REPS launches in one pass, ROUNDS times round
// robin (the least kept), after its output is checked against the first kernel's (err:
// the largest difference relative to the largest output). Run beside the carried
// node_modules: copy this folder into bench/gpu/carry/, `source setup.sh`, then
// `../node gemm-bench.mjs` inside it; torch_gemm.py times cuBLAS on the same shapes.
import { readFileSync, writeFileSync } from 'node:fs';
import { gen, genNamed, workgroupsOf, threadsOf, sharedOf } from './gen.mjs';
import { buf, device, limits as l, pipeline, rand, readBack, timeIt } from './gpu.mjs';

const base = JSON.parse(readFileSync(new URL('./base.json', import.meta.url)));
const REPS = Number(process.env.REPS ?? 20); const ROUNDS = Number(process.env.ROUNDS ?? 4);
const SHAPES = JSON.parse(process.env.SHAPES ?? '[[8320,192,192],[8320,192,768],[8320,768,192],[8320,384,384],[8320,384,1536],[8320,1536,384]]');
const EXTRAS = (process.env.EXTRA ?? '').split(',').filter(Boolean).map((f) => JSON.parse(readFileSync(new URL(f, import.meta.url))));
// without VFILE, src's kernels alone
const VARIANTS = process.env.VFILE ? JSON.parse(readFileSync(new URL(process.env.VFILE, import.meta.url))) : [];

const results = [];
for (const [M, K, N] of SHAPES) {
  for (const fwd of [true, false]) {
    const A = buf(rand(M * K, 1)), B = buf(rand(K * N, 2)), Bias = buf(rand(N, 3)), C = buf(new Float32Array(M * N));
    const Pm = buf(new Uint32Array([M, N, K, 0]), GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
    const bytes = M * N * 4;
    let ref = null;
    const rows = [];
    const prepared = [];
    for (const v of [{ name: 'base' }, ...EXTRAS.map((x) => ({ name: x.name, raw: x })), ...VARIANTS]) {
      const o = { ...v, fwd, geluWgsl: base.gelu };
      let code, groups;
      if (v.name === 'base') { code = fwd ? base.forward : base.inputGrad; groups = Math.ceil(M / 64) * Math.ceil(N / 64); }
      else if (v.raw) { code = fwd ? v.raw.forward : v.raw.inputGrad; const t = v.raw.productTile ?? { TM: 64, TN: 64 }; groups = Math.ceil(M / t.TM) * Math.ceil(N / t.TN); }
      else {
        if (sharedOf(o) > l.maxComputeWorkgroupStorageSize) { rows.push({ name: v.name, skipped: 'needs more workgroup memory than the device has' }); continue; }
        code = v.named ? genNamed(o) : gen(o); groups = workgroupsOf(o, M, N);
      }
      let p;
      try { p = await pipeline(code); } catch (e) { rows.push({ name: v.name, skipped: `does not compile: ${e.message.slice(0, 400)}` }); continue; }
      const entries = (fwd ? [A, B, Bias, C] : [A, B, C]).map((b, i) => ({ binding: i, resource: { buffer: b } }));
      entries.push({ binding: entries.length, resource: { buffer: Pm } });
      const bg = device.createBindGroup({ layout: p.getBindGroupLayout(0), entries });
      device.queue.writeBuffer(C, 0, new Float32Array(M * N));
      await timeIt(p, bg, groups, 1);
      const out = await readBack(C, bytes);
      let err = 0;
      if (!ref) ref = out; else { let mx = 0; for (let i = 0; i < ref.length; i++) { mx = Math.max(mx, Math.abs(ref[i])); err = Math.max(err, Math.abs(out[i] - ref[i])); } err /= mx || 1; }
      await timeIt(p, bg, groups, 3);
      prepared.push({ v, o, p, bg, groups, err, ts: [] });
    }
    for (let round = 0; round < ROUNDS; round++) for (const x of prepared) x.ts.push(await timeIt(x.p, x.bg, x.groups, REPS));
    for (const x of prepared) {
      const us = Math.min(...x.ts);
      rows.push({ name: x.v.name, us, ts: x.ts, tflops: (2 * M * N * K) / (us * 1e-6) / 1e12, err: x.err, groups: x.groups, threads: x.v.name === 'base' || x.v.raw ? 256 : threadsOf(x.o) });
    }
    const b = rows.find((r) => r.us)?.us;
    for (const r of rows) console.log(`${fwd ? 'fwd' : 'ig '} M${M} K${K} N${N} ${r.name.padEnd(16)} ${r.us ? `${r.us.toFixed(1).padStart(7)} us (max ${Math.max(...r.ts).toFixed(1)}) ${r.tflops.toFixed(1).padStart(5)} TF x${(b / r.us).toFixed(2)} err ${r.err.toExponential(1)}` : r.skipped}`);
    results.push({ M, K, N, fwd, rows });
  }
}
writeFileSync(process.env.OUTFILE ?? 'gemm-results.json', JSON.stringify(results, null, 1));
process.exit(0);
