// A weight-gradient microbenchmark on the GPU machine (Node + Dawn): the full linear's
// split-K dW = x^T dy as src makes it (base.json's `weightGrad` on float loads and
// `weightGradVec4` on vec4 loads, split as the engine splits it; BIAS=1 adds the bias's
// workgroups, as in the step), src's from other code
// (EXTRA) and base at other split-K targets (BASE_TARGETS), against variants from
// gen-wg.mjs (VFILE), at the shapes of tiny and small at batch 128 (SHAPES: [[rows, din,
// dout], ...]). Each launch is timed with timestamps around REPS launches in one pass,
// ROUNDS times round robin (the least kept), after its splits' partials, summed in split
// order here, are checked against base's (err: the largest difference relative to the
// largest output, dW's and with BIAS the bias's), and base's at 64 outputs against x^T dy
// in float64. Run as gemm-bench.mjs is;
// torch_gemm.py times cuBLAS on the same shapes (its `wg` rows).
import { readFileSync, writeFileSync } from 'node:fs';
import { genWg, genWgNamed, wgTilesOf, wgThreadsOf, wgSharedOf, wgSplit } from './gen-wg.mjs';
import { buf, device, limits as l, pipeline, rand, readBack, timeIt } from './gpu.mjs';

const baseJson = JSON.parse(readFileSync(new URL('./base.json', import.meta.url)));
const base = baseJson.weightGrad;
const REPS = Number(process.env.REPS ?? 20); const ROUNDS = Number(process.env.ROUNDS ?? 4);
const SHAPES = JSON.parse(process.env.SHAPES ?? '[[8320,192,192],[8320,192,768],[8320,768,192],[8320,384,384],[8320,384,1536],[8320,1536,384]]');
// BIAS=1: src's kernels also sum the bias's columns, in workgroups of their own as in the step
const BIAS = process.env.BIAS === '1';
// src's kernels from other code (EXTRA=a.json,b.json, made by kernels.ts), split as base
const EXTRAS = (process.env.EXTRA ?? '').split(',').filter(Boolean).map((f) => {
  const x = JSON.parse(readFileSync(new URL(f, import.meta.url)));
  if (!x.weightGrad) throw new Error(`${f}: no weightGrad kernel (write it with this checkout's kernels.ts)`);
  return x;
});
// base's kernel again at other split-K targets, split by its dW tiles alone (BASE_TARGETS=396,792)
const BASE_TARGETS = (process.env.BASE_TARGETS ?? '').split(',').filter(Boolean).map(Number);
const VARIANTS = process.env.VFILE ? JSON.parse(readFileSync(new URL(process.env.VFILE, import.meta.url))) : [];

/** The splits' partials (each `stride` floats apart, dW first) summed in split order. */
function sumSplits(part, splits, stride, n) {
  const out = new Float32Array(n);
  for (let s = 0; s < splits; s++) for (let i = 0; i < n; i++) out[i] += part[s * stride + i];
  return out;
}
/** The largest difference of 64 sampled outputs from x^T dy in float64, relative to the largest of them. */
function sampledErr(out, M, N, K) {
  const x = rand(K * M, 1), dy = rand(K * N, 2);
  let e = 0, mx = 0;
  for (let s = 0; s < 64; s++) {
    const m = (s * 7919) % M, n = (s * 104729) % N;
    let want = 0;
    for (let k = 0; k < K; k++) want += x[k * M + m] * dy[k * N + n];
    mx = Math.max(mx, Math.abs(want)); e = Math.max(e, Math.abs(out[m * N + n] - want));
  }
  return e / (mx || 1);
}
const results = [];
for (const [K, M, N] of SHAPES) {
  if (M % 4 || N % 4) throw new Error(`SHAPES: din ${M} and dout ${N} must be multiples of 4 (the written-out tiles load vec4s)`);
  const A = buf(rand(K * M, 1)), B = buf(rand(K * N, 2));
  let ref = null;
  const rows = [];
  const prepared = [];
  // src's dW on float loads, and on vec4 loads (where din and dout are multiples of 4: what src takes behind a GELU or at 144 tiles)
  const v4 = M % 4 === 0 && N % 4 === 0 && baseJson.weightGradVec4 ? [{ name: 'base-v4', raw: baseJson.weightGradVec4 }] : [];
  for (const v of [{ name: 'base' }, ...v4, ...EXTRAS.map((x) => ({ name: x.name, raw: x.weightGrad })), ...BASE_TARGETS.map((target) => ({ name: `base-t${target}`, base: true, target })), ...VARIANTS]) {
    let code, groups, params, splits, stride;
    if (v.name === 'base' || v.base || v.raw) {
      const { TM, TN } = base.tile;
      const c0 = Math.ceil(M / TM) * Math.ceil(N / TN);
      // the engine sizes the split with the bias's workgroups counted (weightGradWorkgroups); base-tNNN by dW's alone
      const sp = v.target ? wgSplit(K, c0, v.target, base.splitK.minRows) : wgSplit(K, c0 + Math.ceil(N / TN), base.splitK.targetWorkgroups, base.splitK.minRows);
      splits = sp.splits; stride = M * N + N;
      const values = { rows: K, din: M, dout: N, splits, rowsPerSplit: sp.rps, total: stride, c0, c1: BIAS ? Math.ceil(N / TN) : 0, c2: 0, c3: 0 };
      const k = v.raw ?? base;
      params = new Uint32Array(4 * Math.ceil(k.params.length / 4)); k.params.forEach((p, i) => { params[i] = values[p]; });
      code = k.wgsl; groups = splits * (c0 + values.c1);
    } else {
      if (wgSharedOf(v) > l.maxComputeWorkgroupStorageSize) { rows.push({ name: v.name, skipped: 'needs more workgroup memory than the device has' }); continue; }
      const tiles = wgTilesOf(v, M, N);
      const sp = wgSplit(K, tiles, v.target ?? 528, v.minRows ?? 64);
      splits = sp.splits; stride = M * N;
      params = new Uint32Array([M, N, K, splits, sp.rps, 0, 0, 0]);
      code = v.named ? genWgNamed(v) : genWg(v); groups = splits * tiles;
    }
    let p;
    try { p = await pipeline(code); } catch (e) { rows.push({ name: v.name, skipped: `does not compile: ${e.message.slice(0, 400)}` }); continue; }
    const C = buf(new Float32Array(splits * stride));
    const Pm = buf(params, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
    const bg = device.createBindGroup({ layout: p.getBindGroupLayout(0), entries: [A, B, C, Pm].map((b, i) => ({ binding: i, resource: { buffer: b } })) });
    await timeIt(p, bg, groups, 1);
    // dW, then with BIAS on src's kernels the bias (compared with base's)
    const all = sumSplits(await readBack(C, splits * stride * 4), splits, stride, stride);
    const out = all.subarray(0, M * N);
    const relErr = (a, b) => { let mx = 0, e = 0; for (let i = 0; i < a.length; i++) { mx = Math.max(mx, Math.abs(a[i])); e = Math.max(e, Math.abs(b[i] - a[i])); } return e / (mx || 1); };
    // the first (base) against x^T dy in float64 at sampled outputs, the rest against it
    let err;
    if (!ref) { ref = all; err = sampledErr(out, M, N, K); } else err = relErr(ref.subarray(0, M * N), out);
    if (BIAS && stride > M * N && (v.raw || v.base)) err = Math.max(err, relErr(ref.subarray(M * N, M * N + N), all.subarray(M * N, M * N + N)));
    await timeIt(p, bg, groups, 3);
    prepared.push({ v, p, bg, groups, splits, err, ts: [] });
  }
  for (let round = 0; round < ROUNDS; round++) for (const x of prepared) x.ts.push(await timeIt(x.p, x.bg, x.groups, REPS));
  for (const x of prepared) {
    const us = Math.min(...x.ts);
    rows.push({ name: x.v.name, us, ts: x.ts, tflops: (2 * M * N * K) / (us * 1e-6) / 1e12, err: x.err, groups: x.groups, splits: x.splits, threads: x.v.name === 'base' || x.v.base || x.v.raw ? 256 : wgThreadsOf(x.v) });
  }
  const b = rows.find((r) => r.us)?.us;
  for (const r of rows) console.log(`wg rows${K} din${M} dout${N} ${r.name.padEnd(16)} ${r.us ? `${r.us.toFixed(1).padStart(7)} us (max ${Math.max(...r.ts).toFixed(1)}) ${r.tflops.toFixed(1).padStart(5)} TF x${(b / r.us).toFixed(2)} wg ${r.groups} splits ${r.splits} err ${r.err.toExponential(1)}` : r.skipped}`);
  results.push({ rows: K, din: M, dout: N, kernels: rows });
}
writeFileSync(process.env.OUTFILE ?? 'wgrad-results.json', JSON.stringify(results, null, 1));
process.exit(0);
