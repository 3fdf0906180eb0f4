// The layers' boundaries are lint rules: each one, given a deliberate violation, must
// fail with its message, and the allowed imports must pass. ESLint's own API on snippets
// placed where the rules apply (the files need not exist).
import { ESLint } from 'eslint';
import { beforeAll, describe, expect, it } from 'vitest';

let eslint: ESLint;

async function problems(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return result!.messages.map((m) => `${m.ruleId}: ${m.message}`);
}

describe('layer boundaries (ESLint)', () => {
  beforeAll(() => {
    eslint = new ESLint();
  });

  it('the page may not import tfjs', async () => {
    expect(await problems('src/ui/components/Bad.tsx', "import * as tf from '@tensorflow/tfjs';\nexport const n = tf.version;\n"))
      .toEqual(['boundaries/no-tfjs-reach: this module may not import tfjs ("@tensorflow/tfjs"): it runs in the page; the engine runs in the worker']);
  });

  it('nor an engine module that reaches tfjs, however far, and says through what', async () => {
    // the constant that once pulled the trainer into the page's main chunk
    const [message] = await problems('src/ui/store/bad.ts', "import { benchOneRun } from '../../engine/bench/run';\nexport const f = benchOneRun;\n");
    expect(message).toMatch(/^boundaries\/no-tfjs-reach: "..\/..\/engine\/bench\/run" reaches tfjs \(src\/engine\/bench\/run.ts -> src\/engine\/kernels.ts -> @tensorflow\/tfjs\)/);
  });

  it('a .js specifier names the .ts file, as tsc and Vite resolve it', async () => {
    const [message] = await problems('src/ui/store/bad.ts', "import { Trainer } from '../../engine/trainer.js';\nexport const t = Trainer;\n");
    expect(message).toMatch(/^boundaries\/no-tfjs-reach: "..\/..\/engine\/trainer.js" reaches tfjs \(src\/engine\/trainer.ts -> /);
  });

  it('type imports count: vocabulary comes from tfjs-free modules', async () => {
    const [message] = await problems('src/ui/store/bad.ts', "import type { ModuleState } from '../../engine/prelora';\nexport type M = ModuleState;\n");
    expect(message).toMatch(/^boundaries\/no-tfjs-reach: "..\/..\/engine\/prelora" reaches tfjs \(src\/engine\/prelora.ts -> @tensorflow\/tfjs\)/);
    // the worker's internals are no vocabulary either
    expect((await problems('src/ui/bad.ts', "export { TrainingHost } from '../worker/host';\n"))[0]).toMatch(/"..\/worker\/host" reaches tfjs/);
  });

  it('lets the page import the tfjs-free modules', async () => {
    const code = [
      "import type { PhaseChange } from '../../engine/events';",
      "import { METRICS } from '../../engine/policy';",
      "import { LIVE_KEYS } from '../../engine/live';",
      "import { makeConfig } from '../../engine/config';",
      "import { BENCH_MIN_STEPS } from '../../engine/bench/report';",
      "import type { Command } from '../../worker/protocol';",
      'export const x: unknown[] = [METRICS, LIVE_KEYS, makeConfig, BENCH_MIN_STEPS];',
      'export type Y = PhaseChange | Command;',
    ].join('\n');
    expect(await problems('src/ui/store/fine.ts', code)).toEqual([]);
  });

  it('the engine may not import the worker, the page or React', async () => {
    expect(await problems('src/engine/bad.ts', "import { useStore } from '../ui/store';\nexport const s = useStore;\n"))
      .toEqual(['no-restricted-imports: \'../ui/store\' import is restricted from being used by a pattern. the engine knows nothing of the worker or the page: they import it, not the other way']);
    expect(await problems('src/engine/data/bad.ts', "import type { Command } from '../../worker/protocol';\nexport type C = Command;\n")).toHaveLength(1);
    expect(await problems('src/engine/bad.ts', "import { useState } from 'react';\nexport const u = useState;\n"))
      .toEqual(["no-restricted-imports: 'react' import is restricted from being used by a pattern. the engine knows nothing of React or the page"]);
  });

  it('nor a subpath of React or the page\'s packages', async () => {
    expect(await problems('src/engine/bad.ts', "import { createRoot } from 'react-dom/client';\nexport const r = createRoot;\n")).toHaveLength(1);
    expect(await problems('src/engine/bad.ts', "import { createStore } from 'zustand/vanilla';\nexport const c = createStore;\n")).toHaveLength(1);
    expect(await problems('src/engine/bad.ts', "import { jsx } from 'react/jsx-runtime';\nexport const j = jsx;\n")).toHaveLength(1);
    // a package whose name only starts like one is not one
    expect(await problems('src/engine/fine.ts', "import * as v from 'valibot';\nexport const s = v.string;\n")).toEqual([]);
  });

  it('nor by a dynamic import, nor by a type import(...)', async () => {
    expect(await problems('src/engine/bad.ts', "export const load = () => import('../ui/store');\n"))
      .toEqual(['no-restricted-syntax: the engine knows nothing of the worker or the page: they import it, not the other way']);
    expect(await problems('src/engine/bad.ts', "export const load = () => import('react-dom/client');\n")).toHaveLength(1);
    expect(await problems('src/engine/bad.ts', "export type C = import('../worker/protocol').Command;\n")).toHaveLength(1);
    // the engine's own dynamic imports stay allowed
    expect(await problems('src/engine/fine.ts', "export const load = () => import('./ops/webgpu/device');\n")).toEqual([]);
    // a template's value the bans cannot read: import(`../cli/args`) passed
    expect(await problems('src/engine/bad.ts', 'export const load = () => import(`../cli/args`);\n'))
      .toEqual(['no-restricted-syntax: a dynamic import names its module as a plain string here, so that these bans can read it']);
  });

  it('a .tsx file in the engine is held to the same', async () => {
    expect(await problems('src/engine/bad.tsx', "import { useStore } from '../ui/store';\nexport const s = useStore;\n")).toHaveLength(1);
  });

  it('nor the CLIs, nor Node\'s modules but in its Node set-up', async () => {
    expect(await problems('src/engine/bad.ts', "import { USAGE } from '../cli/args';\nexport const u = USAGE;\n")).toHaveLength(1);
    expect(await problems('src/engine/io/bad.ts', "import { readFile } from 'node:fs/promises';\nexport const r = readFile;\n")).toHaveLength(1);
    expect(await problems('src/engine/bad.ts', "import { readFileSync } from 'fs';\nexport const r = readFileSync;\n")).toHaveLength(1);
    expect(await problems('src/engine/bad.ts', "export const load = () => import('node:os');\n")).toHaveLength(1);
    expect(await problems('src/engine/backend-node.ts', "import os from 'node:os';\nexport const n = os.cpus().length;\n")).toEqual([]);
    // the other bans still hold there
    expect(await problems('src/engine/backend-node.ts', "import { useStore } from '../ui/store';\nexport const s = useStore;\n")).toHaveLength(1);
  });

  it('the worker and the CLIs may not import the page', async () => {
    expect(await problems('src/worker/bad.ts', "import { useStore } from '../ui/store';\nexport const s = useStore;\n")).toHaveLength(1);
    expect(await problems('src/worker/bad.ts', "export const load = () => import('../ui/store');\n")).toHaveLength(1);
    expect(await problems('src/cli/bad.ts', "import { runStem } from '../ui/export/names';\nexport const n = runStem;\n")).toHaveLength(1);
    // nor the worker a CLI: it runs in the browser, they in Node
    expect(await problems('src/worker/bad.ts', "import { USAGE } from '../cli/args';\nexport const u = USAGE;\n")).toHaveLength(1);
    // what they import today: the engine, their own modules, packages, and (the CLIs) Node
    const worker = "import { makeConfig } from '../engine/config';\nimport { COMMAND_TYPES } from './protocol';\nimport { openDB } from 'idb';\nexport const x: unknown[] = [makeConfig, COMMAND_TYPES, openDB];\n";
    expect(await problems('src/worker/fine.ts', worker)).toEqual([]);
    const cli = "import { readFile } from 'node:fs/promises';\nimport { parseTrainArgs } from './args';\nexport const load = () => import('../engine/trainer');\nexport const x: unknown[] = [readFile, parseTrainArgs];\n";
    expect(await problems('src/cli/fine.ts', cli)).toEqual([]);
  });

  it('policy.ts imports nothing, not even a type', async () => {
    const messages = await problems('src/engine/policy.ts', "import type { RunConfig } from './config';\nexport type R = RunConfig;\n");
    expect(messages).toEqual(['no-restricted-syntax: policy.ts imports nothing: it is pure functions over plain numbers (declare its value sets here)']);
    expect(await problems('src/engine/policy.ts', "export type R = import('./config').RunConfig;\n")).toEqual(messages);
    expect(await problems('src/engine/policy.ts', 'export const RULES = [\'global\', \'module\'] as const;\n')).toEqual([]);
  });

  it('no Math.min or Math.max over a spread, in any layer (past about 125,000 elements it overflowed the call stack): maxOf and a reduce pass', async () => {
    const spread = 'export const top = (xs: number[]) => Math.max(0, ...xs);\n';
    const want = ['no-restricted-syntax: Math.min/max over a spread overflows the call stack on a long list: maxOf/minOf (src/engine/extremes.ts) loop instead'];
    for (const file of ['src/ui/store/bad.ts', 'src/engine/explore/bad.ts', 'src/engine/policy.ts', 'src/worker/bad.ts', 'src/cli/bad.ts']) {
      expect(await problems(file, spread), file).toEqual(want);
    }
    expect(await problems('src/engine/explore/fine.ts', 'import { maxOf } from \'../extremes\';\nexport const top = (xs: number[]) => maxOf(xs, 0);\n')).toEqual([]);
    expect(await problems('src/engine/policy.ts', 'export const top = (xs: number[]) => xs.reduce((a, b) => Math.max(a, b), 0);\n')).toEqual([]);
  });
});
