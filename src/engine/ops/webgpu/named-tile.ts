// The parts every named-tile kernel shares (named-wgrad.ts, named-forward.ts, named-input-grad.ts): a thread's
// RM x RN outputs as named vec4 variables, the K slice's FMAs written out against the
// staged tiles, and the outputs' stores. No array in a thread's registers and no loop
// counter indexing one: the engine's 8 x 8 tile, its accumulators an array read by loop
// counters in the epilogue, ran small's step 3.7x as long (spilled); so named, 8 x 8 a
// thread ran small's fc weight gradient at 36.6 TFLOP/s, the 4 x 4 tile's FMAs alone at
// 29.5-31.6 (the thirty-second session's microbenchmarks, H200).
import { gemmThreads, type GemmTile } from './gemm';
import type { BindingSpec } from './kernel';

/** A named tile's threads (256 for every tile the kernels take), its grid TX x TY and a thread's vec4s of rows VM and columns VN. */
export function namedDims(tile: GemmTile) {
  const { TM, TN, RM, RN } = tile;
  return { NT: gemmThreads(tile), TX: TN / RN, TY: TM / RM, VM: RM / 4, VN: RN / 4 };
}

/** A storage binding of vec4s: every named kernel loads and stores four floats at a time. */
export const vec4Binding = (name: string, access: 'read' | 'rw'): BindingSpec => ({ name, access, type: 'vec4<f32>' });

/** The output register of a thread's row i (0 .. RM - 1) and vec4 of columns h. */
const acc = (i: number, h: number) => `c${i}_${h}`;

/** `var` declarations of a thread's outputs, zeroed. */
export function namedAccumulators(tile: GemmTile): string {
  const { VN } = namedDims(tile);
  const out: string[] = [];
  for (let i = 0; i < tile.RM; i++) for (let h = 0; h < VN; h++) out.push(`var ${acc(i, h)} = vec4<f32>(0.0);`);
  return out.join('\n  ');
}

/**
 * The staged slice's TK k summed into a thread's outputs, in k order: row k of the A tile
 * at `As[k AW + ..]` (vec4s of four rows m), of the B tile at `Bs[k BW + ..]` (four
 * columns n). Thread (tx, ty) holds rows 4 (g TY + ty) + r and columns 4 (h TX + tx) +
 * c (four at a time, TY and TX apart, as classic 8 x 8 SGEMMs do: a warp reads adjacent
 * vec4s).
 */
export function namedSliceSums(tile: GemmTile, AW: number, BW: number): string {
  const { VM, VN } = namedDims(tile);
  return Array.from({ length: tile.TK }, (_, k) => {
    const s: string[] = [];
    for (let g = 0; g < VM; g++) s.push(`let a${g} = As[${k * AW}u + ${g}u * TY + ty];`);
    for (let h = 0; h < VN; h++) s.push(`let b${h} = Bs[${k * BW}u + ${h}u * TX + tx];`);
    for (let i = 0; i < tile.RM; i++) for (let h = 0; h < VN; h++) s.push(`${acc(i, h)} = fma(vec4<f32>(a${i >> 2}.${'xyzw'[i & 3]}), b${h}, ${acc(i, h)});`);
    return `{ ${s.join(' ')} }`;
  }).join('\n    ');
}

/**
 * The K loop over rows `first` .. `end` (WGSL expressions), for `main`: `fetch(k0)` loads
 * this thread's part of the slice from row k0 into registers, `stage` writes it to the
 * staged tiles, and `sums` adds the staged slice into the outputs while the next slice's
 * loads are in flight.
 */
export function namedKLoop(tile: GemmTile, first: string, end: string, parts: { fetch: (k0: string) => string; stage: string; sums: string }): string {
  const TK = `${tile.TK}u`;
  return `${parts.fetch(first)}
  for (var k0 = ${first}; k0 < ${end}; k0 += ${TK}) {
    ${parts.stage}
    workgroupBarrier();
    if (k0 + ${TK} < ${end}) {
    ${parts.fetch(`(k0 + ${TK})`)}
    }
    ${parts.sums}
    workgroupBarrier();
  }`;
}

/** Statements storing a thread's outputs inside M x N: `store(m, n, v)` for each vec4 v of row m from column n. */
export function namedStores(tile: GemmTile, store: (m: string, n: string, v: string) => string): string {
  const { VN } = namedDims(tile);
  const out: string[] = [];
  for (let i = 0; i < tile.RM; i++) {
    for (let h = 0; h < VN; h++) {
      out.push(`{ let m = m0 + 4u * (${i >> 2}u * TY + ty) + ${i & 3}u; let n = n0 + 4u * (${h}u * TX + tx);
    if (m < M && n < N) { ${store('m', 'n', acc(i, h))} } }`);
    }
  }
  return out.join('\n  ');
}
