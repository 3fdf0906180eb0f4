// `npm run train`: the engine headless in Node. Progress goes to stderr (a bar on a
// terminal); the summary to stdout, as JSON on the last line with --json.
import { writeFileSync } from 'node:fs';
import { initNodeBackend } from '../engine/backend-node';
import { validateConfig } from '../engine/config';
import { fitModelToData } from '../engine/data/builtin';
import { DatasetError } from '../engine/data/errors';
import { loadBuiltinFromDisk, loadPath } from './load-path';
import type { EngineEvent } from '../engine/events';
import { summarize } from '../engine/summary';
import { Trainer } from '../engine/trainer';
import { parseTrainArgs, USAGE } from './args';
import { progressLine } from './progress';

async function main(): Promise<number> {
  const { args, errors, help } = parseTrainArgs(process.argv.slice(2));
  if (help) {
    console.log(USAGE);
    return 0;
  }
  if (!args) {
    for (const e of errors) console.error(`${e.path}: ${e.message}`);
    return 2;
  }
  const backend = await initNodeBackend(args.backend);
  const early = validateConfig(args.config, backend.memoryBudgetBytes); // before any data is made
  if (early.length) {
    for (const e of early) console.error(`${e.path}: ${e.message}`);
    return 2;
  }
  let dataset;
  try {
    dataset = args.datasetPath
      ? await loadPath(args.datasetPath, args.config)
      : await loadBuiltinFromDisk(args.config);
  } catch (err) {
    if (!(err instanceof DatasetError)) throw err;
    console.error(`--dataset: ${err.message}`);
    return 2;
  }
  const config = fitModelToData(args.config, dataset);
  const fit = validateConfig(config, backend.memoryBudgetBytes);
  if (fit.length) {
    for (const e of fit) console.error(`${e.path}: ${e.message}`);
    return 2;
  }
  console.error(`backend ${backend.name}: ${backend.reason}`);
  console.error(`dataset ${dataset.name}: ${dataset.train.count} train / ${dataset.test.count} test images of ${dataset.shape.join('x')}`);
  const { seed } = config;
  const events: EngineEvent[] = [];
  const tty = process.stderr.isTTY === true;
  const started = performance.now();
  const trainer = new Trainer(config, dataset, (e) => {
    events.push(e);
    const line = progressLine(e, config.schedule.steps);
    if (line) process.stderr.write(tty ? `\r\x1b[2K${line}` : `${line}\n`);
  });
  await trainer.run();
  if (tty) process.stderr.write('\n');
  const summary = summarize(events, {
    backend: backend.name, mode: config.prelora.mode, rule: config.prelora.rule, seed, model: config.model,
    batchSize: config.optim.batchSize, windowSteps: config.prelora.windowSteps, wallSeconds: (performance.now() - started) / 1000,
  });
  trainer.dispose();
  if (args.out) writeFileSync(args.out, JSON.stringify({ config, backend, summary, events }, null, 1));
  if (args.json) console.log(JSON.stringify(summary));
  else console.log(JSON.stringify(summary, null, 2));
  return 0;
}

main().then((code) => process.exit(code), (err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
