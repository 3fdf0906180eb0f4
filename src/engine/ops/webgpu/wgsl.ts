// WGSL pieces several kernels share: erf and GELU (the formula tfjs-webgpu's own Erf
// uses, Abramowitz and Stegun 7.1.26, so fused and composite GELU agree to float
// rounding), a workgroup tree reduction and a thread's in-order sum of strided loads.

export const GELU_WGSL = `
fn erf_(a: f32) -> f32 {
  let p = 0.3275911; let a1 = 0.254829592; let a2 = -0.284496736;
  let a3 = 1.421413741; let a4 = -1.453152027; let a5 = 1.061405429;
  let x = abs(a);
  let r = 1.0 / (1.0 + p * x);
  return sign(a) * (1.0 - (((((a5 * r + a4) * r) + a3) * r + a2) * r + a1) * r * exp(-x * x));
}
fn gelu(u: f32) -> f32 { return (u * 0.5) * (1.0 + erf_(u * 0.7071067811865476)); }
// d/du of u * Phi(u): Phi(u) + u * phi(u)
fn geluGrad(u: f32) -> f32 {
  return 0.5 * (1.0 + erf_(u * 0.7071067811865476)) + u * 0.3989422804014327 * exp(-0.5 * u * u);
}
`;

/**
 * `fn reduceSum(t, v)`: the sum of `v` over the workgroup's `size` threads (a power of
 * two), in a fixed order, so results repeat bit for bit. Call it from uniform control
 * flow. `type` may be a vector (`vec2<f32>`: two sums for the price of one).
 */
export function reduceSumWgsl(size: number, name = 'reduceSum', type = 'f32'): string {
  if (size & (size - 1)) throw new Error(`reduction over ${size} threads: needs a power of two`);
  const scratch = `${name}Scratch`;
  return `
var<workgroup> ${scratch}: array<${type}, ${size}>;
fn ${name}(t: u32, v: ${type}) -> ${type} {
  ${scratch}[t] = v;
  workgroupBarrier();
  for (var s = ${size / 2}u; s > 0u; s = s >> 1u) {
    if (t < s) { ${scratch}[t] = ${scratch}[t] + ${scratch}[t + s]; }
    workgroupBarrier();
  }
  let r = ${scratch}[0];
  workgroupBarrier();
  return r;
}
`;
}

/**
 * Statements adding `load(i)` to the f32 `acc` for i = first, first + step, ... below
 * `end`, in that order, `batch` loads issued before their adds: one load then one add at
 * a time, a thread's sum is a chain of waits on memory as long as its loads. `step` and
 * `end` are WGSL expressions evaluated each pass; the loop's names start with `ios`.
 */
export function inOrderSumWgsl(acc: string, first: string, step: string, end: string, batch: number, load: (i: string) => string): string {
  const at = `iosAt + iosU * (${step})`;
  return `for (var iosAt = ${first}; iosAt < ${end}; iosAt += ${batch}u * (${step})) {
      var iosY: array<f32, ${batch}>;
      for (var iosU = 0u; iosU < ${batch}u; iosU++) { if (${at} < ${end}) { iosY[iosU] = ${load(at)}; } }
      for (var iosU = 0u; iosU < ${batch}u; iosU++) { if (${at} < ${end}) { ${acc} += iosY[iosU]; } }
    }`;
}
