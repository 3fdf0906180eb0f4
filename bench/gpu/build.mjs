// Packs everything the benchmark needs on a GPU machine that has an NVIDIA driver but
// no Node, no npm registry and no Vulkan loader, into bench/gpu/carry/ (git-ignored):
//   node.xz            this Node binary (xz -9)
//   bench.mjs          the engine + `npm run bench` in one ESM bundle (rolldown)
//   parity.mjs         the fused kernels' and the compiled step's parity checks, on the
//                      GPU's own device (`./node parity.mjs`, after `source setup.sh`)
//   *.wasm             tfjs's wasm backend, beside the bundle (it looks in __dirname)
//   node_modules/webgpu  the package `webgpu` with only Dawn's linux-x64 dawn.node (xz)
//   debs/*.deb         Debian's Vulkan loader and GL dispatch libraries: Dawn needs the
//                      loader, and NVIDIA's Vulkan ICD (libGLX_nvidia.so.0) needs libglvnd's
//                      dispatch; GPU containers often ship the driver without either
//   torch_reference.py the PyTorch reference, run.sh the script that runs both there, ab.sh
//                      an A/B of kernel variants (bundles, tuning flags) in one call, and
//                      ab-summary.py its figures in a few lines
//   quality.sh         the quality benchmark (nano, MNIST, one process per seed); setup.sh
//                      the set-up both share; public/data/mnist the bundled MNIST
// Usage: node bench/gpu/build.mjs   (then copy bench/gpu/carry to the machine, run run.sh)
//        BUNDLE_ONLY=1 node bench/gpu/build.mjs   re-bundles bench.mjs and the scripts into an
//        existing carry (packing Node and Dawn with xz -9 takes minutes; they rarely change)
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'rolldown';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const carry = join(here, 'carry');
const bundleOnly = process.env.BUNDLE_ONLY === '1' && existsSync(join(carry, 'node.xz'));
if (!bundleOnly) {
  rmSync(carry, { recursive: true, force: true });
  mkdirSync(carry, { recursive: true });
}

// the benchmark, and the parity checks CI runs on a software Vulkan (parity-entry.mjs)
for (const [input, file] of [['src/cli/bench.ts', 'bench.mjs'], ['bench/gpu/parity-entry.mjs', 'parity.mjs']]) {
  await build({
    input: join(root, input),
    platform: 'node',
    // Dawn is a native addon: it stays a package beside the bundle
    external: ['webgpu'],
    logLevel: 'warn',
    output: {
      file: join(carry, file),
      format: 'esm',
      codeSplitting: false,
      // tfjs's wasm backend is CommonJS that reads __dirname and calls require
      banner: [
        "import { fileURLToPath as __ftp } from 'node:url';",
        "import { dirname as __dn } from 'node:path';",
        "import { createRequire as __cr } from 'node:module';",
        'const __filename = __ftp(import.meta.url); const __dirname = __dn(__filename); const require = __cr(import.meta.url);',
      ].join(' '),
    },
  });
}

const scripts = () => {
  for (const f of ['run.sh', 'ab.sh', 'ab-summary.py', 'setup.sh', 'quality.sh', 'probe.mjs']) copyFileSync(join(here, f), join(carry, f));
  copyFileSync(join(root, 'bench/torch_reference.py'), join(carry, 'torch_reference.py'));
};
if (bundleOnly) {
  scripts();
  console.log('bench/gpu/carry: bench.mjs, parity.mjs and the scripts renewed');
  process.exit(0);
}

const wasmDist = join(root, 'node_modules/@tensorflow/tfjs-backend-wasm/dist');
for (const f of readdirSync(wasmDist).filter((f) => f.endsWith('.wasm'))) copyFileSync(join(wasmDist, f), join(carry, f));

const webgpu = join(root, 'node_modules/webgpu');
const dawnDir = join(carry, 'node_modules/webgpu/dist/linux-x64');
mkdirSync(dawnDir, { recursive: true });
for (const f of ['package.json', 'index.js']) copyFileSync(join(webgpu, f), join(carry, 'node_modules/webgpu', f));
copyFileSync(join(webgpu, 'dist/linux-x64/dawn.node'), join(dawnDir, 'dawn.node'));
execFileSync('xz', ['-9', '-T0', join(dawnDir, 'dawn.node')]);

copyFileSync(process.execPath, join(carry, 'node'));
execFileSync('xz', ['-9', '-T0', join(carry, 'node')]);

const DEBS = ['libvulkan1', 'libglvnd0', 'libglx0', 'libgl1', 'libegl1', 'libopengl0', 'libgles2'];
mkdirSync(join(carry, 'debs'));
try {
  execFileSync('apt-get', ['download', ...DEBS], { cwd: join(carry, 'debs'), stdio: ['ignore', 'ignore', 'inherit'] });
} catch {
  console.error(`apt-get download failed: run \`apt-get download ${DEBS.join(' ')}\` in bench/gpu/carry/debs on any Debian or Ubuntu machine, or skip it if the GPU machine has them installed`);
}

scripts();
// the bundled MNIST, where the bench looks for it (public/data/mnist, from the working folder), for quality.sh
const mnist = join(root, 'public/data/mnist');
if (existsSync(mnist)) cpSync(mnist, join(carry, 'public/data/mnist'), { recursive: true });
else console.error('no public/data/mnist: run `node scripts/build-mnist.mjs` first, or quality.sh will find no MNIST');
const size = execFileSync('du', ['-sh', carry]).toString().split('\t')[0];
console.log(`bench/gpu/carry: ${size} (${readdirSync(carry).join(', ')})`);
if (!existsSync(join(carry, 'bench.mjs'))) process.exit(1);
