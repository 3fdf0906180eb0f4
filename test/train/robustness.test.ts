// Dawn's robustness pass clamps every index into a workgroup, private or function array
// that its range analysis cannot bound, and a clamp costs the GEMM's loops instructions:
// with the staging functions' thread index bounded, small's full step on the H200 took
// 27.71 ms instead of 28.21 (gemm.ts, stagesBounded). This reads the SPIR-V Dawn made
// for the linear layer's kernels (its shader dump, on SwiftShader) and checks that no
// staged index is clamped: none in a plain product at all, none in any kernel's staging.
import { beforeAll, describe, expect, it } from 'vitest';
import { stdoutOnDawn } from '../helpers/dawn';

/** A clamp to a constant limit (an array of fixed size); a storage buffer's limit is a value, not a constant. */
const CLAMP = /OpExtInst %uint %\S+ UMin %\S+ %uint_\d+\s*$/;

/** Each kernel's dumped SPIR-V, by name. */
function dumps(stdout: string): Map<string, string> {
  const out = new Map<string, string>();
  const parts = stdout.split(/^@@kernel /m).slice(1);
  for (const p of parts) {
    const name = p.slice(0, p.indexOf('\n'));
    out.set(name, p.split(/^@@end$/m)[0]!);
  }
  return out;
}

/** The lines of function `name` in a SPIR-V disassembly. */
function fn(spirv: string, name: string): string[] {
  const lines = spirv.split('\n');
  const start = lines.findIndex((l) => new RegExp(`^\\s*%${name} = OpFunction `).test(l));
  if (start < 0) return [];
  const end = lines.findIndex((l, i) => i > start && /OpFunctionEnd/.test(l));
  return lines.slice(start, end);
}

const clamps = (lines: string[]) => lines.filter((l) => CLAMP.test(l)).length;

describe("Dawn's robustness clamps on the linear layer's kernels", () => {
  let kernels = new Map<string, string>();
  let errors: string[] = [];
  beforeAll(async () => {
    const stdout = await stdoutOnDawn('test/helpers/clamps-run.ts', [], 300_000);
    kernels = dumps(stdout);
    errors = (JSON.parse(stdout.trim().split('\n').pop()!) as { errors: string[] }).errors;
  }, 300_000);

  it('compiles every kernel, each with its SPIR-V', () => {
    expect(errors).toEqual([]);
    expect(kernels.size).toBe(13);
    for (const [name, spirv] of kernels) expect([name, spirv.includes('OpEntryPoint GLCompute')]).toEqual([name, true]);
  });

  it('clamps no index of a plain forward or input gradient, on either tile', () => {
    const plain = [...kernels].filter(([name]) => /^(forward|input gradient)/.test(name));
    expect(plain.length).toBe(8);
    for (const [name, spirv] of plain) expect([name, clamps(spirv.split('\n'))]).toEqual([name, 0]);
  });

  it("clamps no staged index in any kernel's K loop staging", () => {
    for (const [name, spirv] of kernels) {
      const stage = fn(spirv, 'stageTiles');
      expect([name, stage.length > 0]).toEqual([name, true]);
      expect([name, clamps(stage)]).toEqual([name, 0]);
    }
  });

  it("counts a clamp where the index is not bounded: the staged floats' own accessor", () => {
    // sget / sset take the index as a parameter, which the analysis does not bound
    let seen = 0;
    for (const [name, spirv] of kernels) {
      const sget = fn(spirv, 'sget');
      if (sget.length) expect([name, clamps(sget), ++seen]).toEqual([name, 1, seen]);
    }
    // kept where a kernel reads the staged area a float at a time after its K loop: the
    // weight gradients' bias and thin sums, a rider's thin sums
    expect(seen).toBe(5);
  });
});
