// `npm run explore -- RUN.json [--sweep key=from:to:step] [--set key=value]`: replay a
// run saved with `npm run train -- --out` under other PreLoRA settings (no training):
// where each module would switch, at what rank, and the shares that would give.
import { parseArgs } from 'node:util';
import { formatErrors, readNumber, type ConfigError } from '../engine/config';
import { realShares, replay, REPLAY_KEYS, type ReplaySettings } from '../engine/explore/replay';
import { parseRunLog } from '../engine/explore/run-log';
import { checkSettings, parseSweep, sweep } from '../engine/explore/sweep';
import { setField } from '../engine/overrides';
import { boundaryNote, replayTable, sweepTable } from './explore-table';
import { EXIT, say } from './output';
import { readJsonFile } from './read-report';

export const USAGE = `usage: npm run explore -- RUN.json [flags]
  RUN.json                      a run log: npm run train -- --out RUN.json (a full-training run replays exactly)
  --sweep key=from:to:step      one setting over a range (or key=a,b,c), e.g. prelora.weightThreshold=1:10:0.5
  --set key=value               a replay setting, e.g. prelora.rule=module (repeatable); default: the run's own
  --json                        the result as JSON on the last line of stdout
  --bench N                     time N more replays (or sweeps) after the first: first, median and p95 ms`;

// made printable: a log's module names and a flag's text are the user's (ESC and U+202E reached the terminal raw)
function fail(errors: ConfigError[] | string): number {
  // formatErrors: a message that names its field already is not prefixed again ("prelora.patience: prelora.patience must be ...")
  say(typeof errors === 'string' ? errors : formatErrors(errors));
  return EXIT.user;
}

/** First call (cold code), then `n` more: median and p95 wall ms, and CPU ms per call. */
function timing(first: number, n: number, f: () => unknown): string {
  const wall: number[] = [];
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    f();
    wall.push(performance.now() - t);
  }
  const cpu = process.cpuUsage(cpu0);
  wall.sort((a, b) => a - b);
  const at = (q: number) => wall[Math.min(n - 1, Math.floor(q * n))]!.toFixed(2);
  return `ms: first ${first.toFixed(2)}, then over ${n}: median ${at(0.5)}, p95 ${at(0.95)}, CPU ${((cpu.user + cpu.system) / 1000 / n).toFixed(2)} a call`;
}

function main(): number {
  let parsed;
  try {
    parsed = parseArgs({
      args: process.argv.slice(2), allowPositionals: true, strict: true,
      options: { sweep: { type: 'string' }, bench: { type: 'string' }, set: { type: 'string', multiple: true, default: [] }, json: { type: 'boolean', default: false }, help: { type: 'boolean', default: false } },
    });
  } catch (err) {
    return fail(`${(err as Error).message}\n${USAGE}`);
  }
  const { values: v, positionals } = parsed;
  if (v.help) {
    console.log(USAGE);
    return 0;
  }
  if (positionals.length !== 1) return fail(`give one run log (got ${positionals.length})\n${USAGE}`);
  const file = positionals[0]!;
  let json: unknown;
  try {
    // a regular file within a bound: a pipe or /dev/zero hung or grew the process
    json = readJsonFile(file, `write one with npm run train -- --out ${file}`);
  } catch (err) {
    return fail((err as Error).message);
  }
  const { log, error } = parseRunLog(json, file);
  if (!log) return fail(error);
  const { run, config } = log;

  // --set: the replay's settings, starting from the run's own
  const edited = structuredClone(config);
  const errors: ConfigError[] = [];
  for (const kv of v.set) {
    const eq = kv.indexOf('=');
    const key = kv.slice(0, eq).replace(/^prelora\./, '');
    if (eq < 1) errors.push({ path: '--set', message: `--set takes key=value, e.g. --set prelora.rule=module (got "${kv}")` });
    else if (!(REPLAY_KEYS as readonly string[]).includes(key)) {
      errors.push({ path: kv.slice(0, eq), message: `a replay can change ${REPLAY_KEYS.map((k) => `prelora.${k}`).join(', ')}; the windows were measured with the run's other settings` });
    } else {
      const e = setField(edited, `prelora.${key}`, kv.slice(eq + 1));
      if (e) errors.push(e);
    }
  }
  const settings = Object.fromEntries(REPLAY_KEYS.map((k) => [k, edited.prelora[k]])) as ReplaySettings;
  errors.push(...checkSettings(config, settings));
  if (errors.length) return fail(errors);

  const repeats = v.bench === undefined ? 0 : readNumber(v.bench);
  if (!Number.isInteger(repeats) || repeats < 0 || repeats > 10_000) return fail([{ path: '--bench', message: `--bench takes a whole number of repeats, 0 to 10000 (got "${v.bench}")` }]);

  const t0 = performance.now();
  if (v.sweep !== undefined) {
    const { axis, error: bad } = parseSweep(v.sweep);
    if (!axis) return fail([bad]);
    const { result, errors: problems } = sweep(config, run, settings, axis);
    if (!result) return fail(problems);
    const ms = performance.now() - t0;
    console.log(sweepTable(run, result));
    console.log(`\n${boundaryNote(run)}`);
    console.error(`swept ${axis.values.length} values x ${run.moduleIds.length} modules x ${run.windows.length} windows in ${ms.toFixed(1)} ms (${(ms / axis.values.length).toFixed(2)} ms a replay)`);
    if (repeats) console.error(`sweep ${timing(ms, repeats, () => sweep(config, run, settings, axis))}`);
    if (v.json) console.log(JSON.stringify({ axis, exactUntil: result.cells[0]?.exactUntil ?? null, exactBy: result.cells[0]?.exactBy ?? null, cells: result.cells.map((c) => ({ switches: c.switches, shares: c.shares })) }));
    return 0;
  }
  const r = replay(run, settings);
  const ms = performance.now() - t0;
  console.log(replayTable(run, r, realShares(run)));
  console.log(`\n${boundaryNote(run)}`);
  console.error(`replayed ${run.moduleIds.length} modules x ${run.windows.length} windows in ${ms.toFixed(2)} ms`);
  if (repeats) console.error(`replay ${timing(ms, repeats, () => replay(run, { ...settings, weightThreshold: settings.weightThreshold * 1.01 }))}`);
  if (v.json) console.log(JSON.stringify({ settings, exactUntil: r.exactUntil, exactBy: r.exactBy, switches: r.switches, shares: r.shares }));
  return 0;
}

process.exit(main());
