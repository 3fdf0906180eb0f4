// How many neighbouring threads of a workgroup may add partial sums with subgroup
// shuffles on this device: checked once when the device is made, so a kernel that
// shares a row among `lanes` threads (attention.ts) is only chosen where it is right.
// WGSL leaves open which invocations form a subgroup; the kernels assume that threads
// t .. t + lanes - 1 (t a multiple of lanes) are neighbours in one, which the probe
// checks at every workgroup size the attention tuning allows (with a pipeline of its
// own: the kernels' pipelines are assumed to lay threads out alike), and the adapter's
// smallest subgroup must hold them (a compiler may pick any size from its range).

/** The threads a row may be shared by (a row's lanes add their sums by xor shuffles 1, 2, 4: every count below its own). */
export const LANE_COUNTS = [1, 2, 4, 8] as const;
export const MAX_LANES: number = LANE_COUNTS[LANE_COUNTS.length - 1]!;

/**
 * The workgroup sizes the probe checks: every size an attention kernel with lanes can
 * have (rows / rows a thread x lanes rounded up to 32, at most 256 threads:
 * attentionThreads; a unit test holds the two together).
 */
export const PROBED_WORKGROUP_SIZES = [32, 64, 96, 128, 160, 192, 224, 256];

const lanesByDevice = new WeakMap<GPUDevice, { lanes: number; why: string }>();

/** Lanes a row may have on this device: 1 where subgroups are missing or not laid out as the kernels need. */
export function subgroupLanes(device: GPUDevice): number {
  return lanesByDevice.get(device)?.lanes ?? 1;
}

/** Why this device has the lanes it has (for reports: "no subgroups", the probe's failure). */
export function subgroupLanesWhy(device: GPUDevice): string {
  return lanesByDevice.get(device)?.why ?? 'not probed';
}

const probeWgsl = (size: number) => `
enable subgroups;
@group(0) @binding(0) var<storage, read_write> OK: array<u32>;
@compute @workgroup_size(${size})
fn main(@builtin(local_invocation_index) t: u32) {
  // bit 2^b set: the thread's shuffle partner at xor 2^b is the neighbour the kernels mean
  var bits = 0u;
  for (var b = 0u; b < ${Math.log2(MAX_LANES)}u; b++) {
    let m = 1u << b;
    if (subgroupShuffleXor(t, m) == (t ^ m)) { bits |= m; }
  }
  OK[t] = bits;
}`;

/**
 * Runs a shuffle at each probed workgroup size (one submit, one read-back) and records
 * the lanes every thread saw right, at most the adapter's smallest subgroup. Any failure
 * leaves 1 lane: the kernels then keep a row to one thread, as without subgroups.
 */
export async function probeSubgroupLanes(device: GPUDevice, info: GPUAdapterInfo): Promise<number> {
  const smallest = info.subgroupMinSize ?? 0;
  let found = { lanes: 1, why: 'no subgroups' };
  if (device.features.has('subgroups') && smallest < 2) found = { lanes: 1, why: `subgroups of ${smallest || 'unknown size'}` };
  else if (device.features.has('subgroups')) {
    try {
      const lanes = Math.min(MAX_LANES, smallest, lanesFromBits(await probeBits(device)));
      found = { lanes, why: lanes > 1 ? 'subgroups' : 'subgroups not laid out as the kernels need' };
    } catch (e) {
      found = { lanes: 1, why: `the subgroup probe failed: ${(e as Error).message.slice(0, 120)}` };
    }
  }
  lanesByDevice.set(device, found);
  return found.lanes;
}

/** The bits that every thread at every probed size set (see probeWgsl). */
async function probeBits(device: GPUDevice): Promise<number> {
  // each size's results at an offset the device can bind (256 bytes on most)
  const align = device.limits.minStorageBufferOffsetAlignment / 4;
  const starts: number[] = [];
  let floats = 0;
  for (const size of PROBED_WORKGROUP_SIZES) {
    starts.push(floats);
    floats += align * Math.ceil(size / align);
  }
  const out = device.createBuffer({ size: 4 * floats, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
  const read = device.createBuffer({ size: 4 * floats, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  try {
    device.pushErrorScope('validation');
    let error: GPUError | null = null;
    try {
      const encoder = device.createCommandEncoder();
      const pass = encoder.beginComputePass();
      for (const [i, size] of PROBED_WORKGROUP_SIZES.entries()) {
        const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code: probeWgsl(size) }), entryPoint: 'main' } });
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, device.createBindGroup({
          layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: out, offset: 4 * starts[i]!, size: 4 * size } }],
        }));
        pass.dispatchWorkgroups(1);
      }
      pass.end();
      encoder.copyBufferToBuffer(out, 0, read, 0, 4 * floats);
      device.queue.submit([encoder.finish()]);
    } finally {
      // popped whatever happened: a scope left open would swallow tfjs's own errors later
      error = await device.popErrorScope();
    }
    if (error) throw new Error(error.message);
    await read.mapAsync(GPUMapMode.READ);
    const all = new Uint32Array(read.getMappedRange());
    let bits = MAX_LANES - 1;
    PROBED_WORKGROUP_SIZES.forEach((size, i) => {
      for (const b of all.subarray(starts[i]!, starts[i]! + size)) bits &= b;
    });
    read.unmap();
    return bits;
  } finally {
    out.destroy();
    read.destroy();
  }
}

/** The lanes the probe's bits allow: L lanes need the partners xor 1 .. L / 2 right. */
export function lanesFromBits(bits: number): number {
  let lanes = 1;
  while (lanes < MAX_LANES && (bits & lanes) !== 0) lanes *= 2;
  return lanes;
}
