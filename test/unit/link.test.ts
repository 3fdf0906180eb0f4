// The page's link (pure codec): every config field round-trips, found from the config
// and its schema rather than listed here; only non-default values are written; every
// bad key or value (wrong type, out of range, unknown, too long, script, prototype) is
// refused on its own with a message that names it, and the rest of the link applies.
import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { BACKEND_CHOICES } from '../../src/engine/backend';
import { PRESET_NAMES } from '../../src/engine/config';
import { RUN_CONFIG_SCHEMA } from '../../src/engine/config/schema';
import { fieldPaths, getField } from '../../src/engine/overrides';
import { decodeLink, encodeLink, MAX_LINK_CHARS, type LinkState } from '../../src/ui/link/codec';
import { buildConfig, DEFAULT_BACKEND, pageDefaults } from '../../src/ui/store/config';
import { useStore } from '../../src/ui/store';

const defaults = (): LinkState => ({ ...pageDefaults('nano'), backendChoice: DEFAULT_BACKEND });
const base = buildConfig(pageDefaults('nano'));
const text = (x: unknown) => (Array.isArray(x) ? x.join(',') : String(x));

/** The schema of a field, from the config's schema (its value sets). */
function schemaAt(path: string): v.GenericSchema {
  const [a, b] = path.split('.');
  const section = (RUN_CONFIG_SCHEMA.entries as Record<string, v.GenericSchema>)[a!]!;
  return b === undefined ? section : (section as unknown as { entries: Record<string, v.GenericSchema> }).entries[b]!;
}

/** Values other than the default a field could take, as text: other members of its value set, flipped, scaled. */
function candidates(path: string): string[] {
  const now = getField(base, path);
  const schema = schemaAt(path) as unknown as { options?: string[]; item?: { options: string[] } };
  if (schema.options) return schema.options.filter((o) => o !== now);
  if (schema.item) return [schema.item.options.slice(0, 2).join(','), schema.item.options[0]!];
  if (typeof now === 'boolean') return [String(!now)];
  if (now === null) return ['16', '8'];
  const n = now as number;
  return [n * 2, n / 2, n + 1, n - 1].filter((x) => x !== n).map(String);
}

describe('the link codec', () => {
  it('writes nothing for the page\'s defaults, and only what differs otherwise', () => {
    expect(encodeLink(defaults())).toBe('');
    const s: LinkState = { ...pageDefaults('tiny'), backendChoice: 'wasm' };
    expect(encodeLink(s)).toBe('v=1&preset=tiny&backend=wasm');
    expect(encodeLink({ ...s, policy: { ...s.policy, weightThreshold: 2 } })).toBe('v=1&preset=tiny&backend=wasm&prelora.weightThreshold=2');
  });

  it('round-trips every config field (the list comes from the config, the values from its schema)', () => {
    const paths = fieldPaths(base);
    expect(paths.length).toBeGreaterThan(40);
    const missed: string[] = [];
    for (const path of paths) {
      const found = candidates(path).find((c) => {
        const { state, problems } = decodeLink(`#v=1&${encodeURIComponent(path)}=${encodeURIComponent(c)}`);
        return problems.length === 0 && text(getField(buildConfig(state), path)) === c;
      });
      if (found === undefined) {
        missed.push(path);
        continue;
      }
      const { state } = decodeLink(`#v=1&${path}=${encodeURIComponent(found)}`);
      const link = encodeLink(state);
      expect(new URLSearchParams(link).get(path), path).toBe(found); // written back under its own name
      expect(decodeLink(link)).toEqual({ state, problems: [] });
      expect(buildConfig(decodeLink(link).state), path).toEqual(buildConfig(state));
    }
    expect(missed).toEqual([]);
  });

  it('round-trips every preset and backend, and several fields at once', () => {
    for (const preset of PRESET_NAMES) for (const backendChoice of BACKEND_CHOICES) {
      const s: LinkState = { ...pageDefaults(preset), backendChoice };
      expect(decodeLink(encodeLink(s))).toEqual({ state: s, problems: [] });
    }
    const link = 'v=1&preset=micro&prelora.mode=lora&prelora.rule=global&seed=7&schedule.steps=120&data.dataset=mnist' +
      '&optim.lr=0.002&prelora.metric=gradChange%25&prelora.targets=query%2Cfc1&prelora.alpha=16';
    const { state, problems } = decodeLink(`#${link}`);
    expect(problems).toEqual([]);
    expect(state).toMatchObject({ preset: 'micro', mode: 'lora', rule: 'global', seed: 7, steps: 120, dataset: 'mnist' });
    expect(state.policy.metric).toBe('gradChange%');
    expect(state.extra).toEqual({ 'optim.lr': '0.002', 'prelora.alpha': '16', 'prelora.targets': 'query,fc1' });
    expect(buildConfig(state).prelora.targets).toEqual(['query', 'fc1']);
    const entries = (l: string) => [...new URLSearchParams(l)].sort();
    expect(entries(encodeLink(state))).toEqual(entries(link));
  });

  it('an explicit field wins over what the page derives (joint phase, warm-up); a default value is dropped', () => {
    const { state } = decodeLink('#v=1&prelora.windowSteps=10&prelora.jointSteps=3&schedule.warmupSteps=50&optim.lr=0.001');
    const cfg = buildConfig(state);
    expect([cfg.prelora.windowSteps, cfg.prelora.jointSteps, cfg.schedule.warmupSteps]).toEqual([10, 3, 50]);
    expect(state.extra).not.toHaveProperty('optim.lr'); // nano's own lr
    expect(buildConfig(decodeLink('#v=1&prelora.windowSteps=10').state).prelora.jointSteps).toBe(10);
  });

  const long = 'x'.repeat(300);
  it.each<[string, string, { path: string; message: string | RegExp }[]]>([
    ['a word for a number', 'prelora.weightThreshold=abc', [{ path: 'prelora.weightThreshold', message: 'prelora.weightThreshold takes a number (got "abc")' }]],
    ['an empty number', 'prelora.patience=', [{ path: 'prelora.patience', message: 'prelora.patience takes a number (got "")' }]],
    ['a word for a boolean', 'prelora.useLossTest=yes', [{ path: 'prelora.useLossTest', message: 'prelora.useLossTest takes true or false (got "yes")' }]],
    ['a negative threshold', 'prelora.weightThreshold=-1',
      [{ path: 'prelora.weightThreshold', message: 'prelora.weightThreshold must be a number in (0, 1000000] (got -1) (the link\'s prelora.weightThreshold=-1 is not applied)' }]],
    ['infinity', 'optim.lr=Infinity', [{ path: 'optim.lr', message: 'optim.lr takes a number (got "Infinity")' }]],
    ['a seed past 32 bits', 'seed=4294967296', [{ path: 'seed', message: /^seed must be a whole number in \[0, 4294967295\] \(got 4294967296\): seeds are 32-bit/ }]],
    ['a run of 1e308 steps', 'schedule.steps=1e308', [{ path: 'schedule.steps', message: /^schedule.steps must be a whole number in \[1, 1000000\] \(got 1e\+308\)/ }]],
    ['a fractional patience', 'prelora.patience=2.5', [{ path: 'prelora.patience', message: /^prelora.patience must be a whole number >= 2 \(got 2.5\)/ }]],
    ['a relation the link breaks', 'prelora.minRank=64', [{ path: 'prelora.minRank', message: /^maxRank 16 is below minRank 64: raise maxRank or lower minRank/ }]],
    ['a patch that does not divide', 'model.patchSize=5', [{ path: 'model.patchSize', message: /^patch 5 does not divide image size 32/ }]],
    ['a metric not in the set', 'prelora.metric=loss%25', [{ path: 'prelora.metric', message: /^prelora.metric must be one of update%, normChange%, gradChange% \(got loss%\)/ }]],
    ['a script for a choice', 'prelora.rule=%3Cscript%3Ealert(1)%3C%2Fscript%3E',
      [{ path: 'prelora.rule', message: /^prelora.rule must be one of global, module \(got <script>alert\(1\)<\/script>\)/ }]],
    ['a script in a key', '%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E=1', [{ path: '<img src=x onerror=alert(1)>', message: 'unknown setting "<img src=x onerror=alert(1)>"' }]],
    ['an unknown key', 'optim.learningRate=1', [{ path: 'optim.learningRate', message: /^unknown setting "optim.learningRate": did you mean optim.batchSize, optim.lr/ }]],
    ['__proto__', '__proto__=1', [{ path: '__proto__', message: 'unknown setting "__proto__"' }]],
    ['__proto__ deeper', '__proto__.polluted=1', [{ path: '__proto__.polluted', message: 'unknown setting "__proto__.polluted"' }]],
    ['constructor.prototype', 'constructor.prototype.polluted=1', [{ path: 'constructor.prototype.polluted', message: 'unknown setting "constructor.prototype.polluted"' }]],
    ['a preset named __proto__', 'preset=__proto__', [{ path: 'preset', message: 'preset must be one of micro, nano, tiny, small or vit-l16 (got "__proto__"): nano applies' }]],
    ['an unknown backend', 'backend=gpu', [{ path: 'backend', message: 'backend must be one of auto, webgpu, webgpu-fused, webgpu-composite, wasm, webgl or cpu (got "gpu"): auto applies' }]],
    ['an upload', 'data.dataset=upload', [{ path: 'data.dataset', message: /^data.dataset=upload cannot come from a link/ }]],
    ['a very long value', `optim.lr=${long}`, [{ path: 'optim.lr', message: 'the value of optim.lr is 300 characters, more than the 200 a field takes: not read' }]],
    ['a field given twice', 'seed=3&seed=4', [{ path: 'seed', message: 'seed is given twice: the first value (3) applies' }]],
    ['control characters', '%1B%5B31mred=1', [{ path: '\\x1b[31mred', message: 'unknown setting "\\x1b[31mred"' }]],
  ])('%s is refused by name, and the link\'s other field still applies', (_, bad, expected) => {
    const { state, problems } = decodeLink(`#v=1&prelora.lossThreshold=7&${bad}`);
    expect(problems).toHaveLength(expected.length);
    problems.forEach((p, i) => {
      const { path, message } = expected[i]!;
      expect(p).toEqual({ path, message: typeof message === 'string' ? message : expect.stringMatching(message) });
    });
    expect(state.policy.lossThreshold).toBe(7);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
  });

  it('reads nothing from a link of another version or past its length, and says so', () => {
    expect(decodeLink('#v=2&preset=tiny')).toEqual({
      state: defaults(),
      problems: [{ path: 'v', message: 'this page reads links of version 1 (got v=2): nothing else was read from it' }],
    });
    const huge = decodeLink(`#v=1&preset=tiny&${'a'.repeat(MAX_LINK_CHARS)}`);
    expect(huge.state).toEqual(defaults());
    expect(huge.problems).toEqual([{ path: 'link', message: `its settings are ${MAX_LINK_CHARS + 16} characters, more than the ${MAX_LINK_CHARS} a link may have: nothing was read from it` }]);
    expect(decodeLink('#preset=micro').state.preset).toBe('micro'); // no version: read as this one
  });
});

describe('the link in the store', () => {
  it('sets the next run, reports what it refused, and drops a field without a control on request', () => {
    useStore.getState().applyLink('#v=1&preset=micro&optim.lr=0.004&prelora.patience=zero');
    const s = useStore.getState();
    expect([s.preset, s.steps, s.extra]).toEqual(['micro', 300, { 'optim.lr': '0.004' }]);
    expect(s.linkProblems).toEqual([{ path: 'prelora.patience', message: 'prelora.patience takes a number (got "zero")' }]);
    expect(buildConfig(s).optim.lr).toBe(0.004);
    s.dropExtra('optim.lr');
    expect(useStore.getState().extra).toEqual({});
    expect(encodeLink(useStore.getState())).toBe('v=1&preset=micro');
    useStore.getState().applyLink('');
    expect(encodeLink(useStore.getState())).toBe('');
  });

  it('does not stop a live run for the backend a link names: it says so, and applies the rest', () => {
    useStore.setState({ runs: [], activeId: null }); // the unit files share one store
    useStore.getState().applyLink('#v=1&backend=wasm');
    const s = useStore.getState();
    const run = s.addRun(buildConfig(s));
    s.onWorkerEvent({ type: 'state', runId: run.id, state: 'paused', step: 20 });
    useStore.getState().applyLink('#v=1&preset=micro'); // no backend: auto
    const after = useStore.getState();
    expect([after.backendChoice, after.preset, after.runs.find((r) => r.id === run.id)!.state]).toEqual(['wasm', 'micro', 'paused']);
    expect(after.linkProblems).toEqual([{ path: 'backend', message: 'backend stays wasm while a run or benchmark is live (a new backend stops it): choose auto in the controls once it is done or reset' }]);
    // once the run is done, a link's backend is taken
    after.onWorkerEvent({ type: 'state', runId: run.id, state: 'done', step: 300 });
    useStore.getState().applyLink('#v=1&preset=micro');
    expect([useStore.getState().backendChoice, useStore.getState().linkProblems]).toEqual(['auto', []]);
    useStore.getState().removeRun(run.id);
  });
});
