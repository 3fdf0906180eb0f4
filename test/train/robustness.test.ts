// Dawn's robustness pass clamps every index into a workgroup, private or function array
// that its range analysis cannot bound, and a clamp costs the GEMM's loops instructions:
// with the staging functions' thread index bounded, small's full step on the H200 took
// 27.71 ms instead of 28.21 (gemm.ts, stagesBounded). This reads the SPIR-V Dawn made
// for the linear layer's kernels (its shader dump, on SwiftShader) and checks that no
// staged index is clamped: none in a plain product or a named-tile kernel at all, none
// in a kernel's staging but a LoRA forward's on GEMM_TILE, which keeps its clamps
// (bounded, it ran slower).
import { beforeAll, describe, expect, it } from 'vitest';
import { stdoutOnDawn } from '../helpers/dawn';

/** A clamp to a constant limit (an array of fixed size); a storage buffer's limit is a value, not a constant. */
const CLAMP = /OpExtInst %uint %\S+ UMin %\S+ %uint_\d+\s*$/;

/** Each kernel's dumped SPIR-V (Dawn echoes its WGSL first, whose first line names it), by name. */
function dumps(stdout: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of stdout.split(/^\/\/ @@kernel /m).slice(1)) {
    const name = part.slice(0, part.indexOf('\n'));
    out.set(name, part.split(/^@@result /m)[0]!);
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
  let names: string[] = [];
  beforeAll(async () => {
    const stdout = await stdoutOnDawn('test/helpers/clamps-run.ts', [], 300_000);
    kernels = dumps(stdout);
    const result = /^@@result (.*)$/m.exec(stdout);
    if (!result) throw new Error(`no result line in the child's output (${stdout.length} bytes)`);
    ({ errors, kernels: names } = JSON.parse(result[1]!) as { errors: string[]; kernels: string[] });
  }, 300_000);

  it('compiles every kernel, each with its SPIR-V', () => {
    expect(errors).toEqual([]);
    expect(names.length).toBe(23);
    expect([...kernels.keys()]).toEqual(names);
    for (const [name, spirv] of kernels) expect([name, spirv.includes('OpEntryPoint GLCompute')]).toEqual([name, true]);
  });

  it('clamps no index of a plain forward or input gradient, on either tile', () => {
    const plain = [...kernels].filter(([name]) => /^(forward|input gradient)/.test(name));
    expect(plain.length).toBe(8);
    for (const [name, spirv] of plain) expect([name, clamps(spirv.split('\n'))]).toEqual([name, 0]);
  });

  it('clamps no index of a named-tile kernel (weight gradients 8 x 8 behind a GELU, 8 x 4, 4 x 8 behind a GELU, three 8 x 4 in one launch; forwards, with an adapter\'s side product too)', () => {
    const named = [...kernels].filter(([name]) => name.startsWith('named'));
    expect(named.length).toBe(8);
    for (const [name, spirv] of named) expect([name, clamps(spirv.split('\n'))]).toEqual([name, 0]);
  });

  it("clamps no staged index in a GEMM kernel's K loop staging, but in a LoRA forward on GEMM_TILE (stagesBounded)", () => {
    for (const [name, spirv] of [...kernels].filter(([n]) => !n.startsWith('named'))) {
      const stage = fn(spirv, 'stageTiles');
      expect([name, stage.length > 0]).toEqual([name, true]);
      // the staged floats stored directly: through sset its clamp would not be in stageTiles
      const stored = [clamps(stage), stage.some((l) => /OpFunctionCall %void %sset /.test(l))];
      expect([name, ...stored]).toEqual(name === 'lora forward tile' ? [name, 0, true] : [name, 0, false]);
    }
  });

  it("counts a clamp where the index is not bounded: the staged floats' own accessor", () => {
    // sget / sset take the index as a parameter, which the analysis does not bound; sget
    // is kept where a kernel reads the staged area a float at a time (the weight
    // gradients' bias and thin sums, a rider's thin sums, the side product's K loop)
    const withSget = [...kernels].filter(([, spirv]) => fn(spirv, 'sget').length > 0);
    expect(withSget.map(([name]) => name)).toEqual(['lora forward tile', 'lora input gradient with a rider tile', 'lora forward wide', 'lora input gradient with a rider wide', 'weight gradient', 'weight gradient on vec4s', 'lora weight gradient']);
    for (const [name, spirv] of withSget) expect([name, clamps(fn(spirv, 'sget'))]).toEqual([name, 1]);
  });
});
