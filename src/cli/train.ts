// `npm run train`: the engine headless in Node. Progress goes to stderr (a bar on a
// terminal); the summary to stdout, as JSON on the last line with --json.
import { writeFile } from 'node:fs/promises';
import { formatErrors } from '../engine/config';
import type { Dataset } from '../engine/data/dataset';
import { DatasetError } from '../engine/data/errors';
import { printable } from '../engine/data/names';
import type { EngineEvent } from '../engine/events';
import { ModelFileError } from '../engine/io/errors';
import { summarize } from '../engine/summary';
import { parseTrainArgs, USAGE } from './args';
import { checkWritableDir, writeExport } from './export-dir';
import { loadBuiltinFromDisk, loadPath } from './load-path';
import { EXIT, outProblem, say } from './output';
import { ProgressOutput } from './progress';
import { messageOf } from '../engine/message-of';

async function main(): Promise<number> {
  const { args, errors, help } = parseTrainArgs(process.argv.slice(2));
  if (help) {
    console.log(USAGE);
    return 0;
  }
  if (!args) {
    say(formatErrors(errors));
    return EXIT.user;
  }
  const badOut = args.out ? await outProblem(args.out) : null;
  if (badOut) {
    say(badOut);
    return EXIT.user;
  }
  const unwritable = args.exportDir === null ? null : await checkWritableDir(args.exportDir);
  if (unwritable) {
    say(`--export: ${unwritable}`);
    return EXIT.user;
  }
  // a user's files are read (within bounds, no tfjs needed) before tfjs loads: a bad one is named at once
  const path = args.datasetPath;
  let fromPath: Dataset | null = null;
  if (path) {
    try {
      fromPath = await loadPath(path, args.config);
    } catch (err) {
      if (!(err instanceof DatasetError)) throw err;
      say(`--dataset: ${err.message}`);
      return EXIT.user;
    }
  }
  const { initNodeBackend } = await import('../engine/backend-node');
  const { prepareRun } = await import('../engine/prepare');
  const { readInitModel } = await import('./init-model');
  const backend = await initNodeBackend(args.backend);
  const { config, dataset, errors: problems } = await prepareRun(args.config, {
    load: fromPath ? async () => fromPath : loadBuiltinFromDisk,
    memoryBudgetBytes: backend.memoryBudgetBytes,
    kernels: backend.kernels,
    dataField: '--dataset',
  });
  if (!config) {
    say(formatErrors(problems));
    return EXIT.user;
  }
  const init = args.init === null ? null : await readInitModel(args.init, config.model).catch((err: unknown) => {
    if (err instanceof ModelFileError) return err;
    throw err;
  });
  if (init instanceof ModelFileError) {
    say(`--init: ${init.message}`);
    return EXIT.user;
  }
  console.error(`backend ${backend.name} (${backend.kernels} kernels): ${backend.reason}`);
  if (init) console.error(`init: ${printable(init.file)}${init.ignored ? ` (ignored: ${init.ignored})` : ''}`);
  console.error(`dataset ${dataset.name}: ${dataset.train.count} train / ${dataset.test.count} test images of ${dataset.shape.join('x')}`);
  const { seed } = config;
  const events: EngineEvent[] = [];
  const output = new ProgressOutput(process.stderr.isTTY === true, config.schedule.steps);
  const started = performance.now();
  const { Trainer } = await import('../engine/trainer');
  const trainer = new Trainer(config, dataset, (e) => {
    events.push(e);
    const text = output.text(e);
    if (text) process.stderr.write(text);
  }, init?.prepare);
  await trainer.run();
  process.stderr.write(output.end());
  const lost = trainer.deviceLoss;
  if (lost) {
    trainer.dispose();
    throw new Error(`${lost.message} after step ${lost.step}: the command line keeps no checkpoints, so run it again`);
  }
  const summary = summarize(events, {
    backend: backend.name, kernels: backend.kernels, mode: config.prelora.mode, rule: config.prelora.rule, seed, model: config.model,
    batchSize: config.optim.batchSize, wallSeconds: (performance.now() - started) / 1000,
  });
  const diverged = trainer.divergence;
  if (args.exportDir !== null && !diverged) {
    const changes = events.flatMap((e) => (e.type === 'phase' ? [e.change] : []));
    const { exportRun } = await import('../engine/io/export');
    const files = await exportRun(trainer, changes, { naming: args.peftNaming, backend: backend.name });
    await writeExport(args.exportDir, files);
    console.error(`export: ${files.length} files in ${args.exportDir}`);
  }
  trainer.dispose();
  if (args.json) console.log(JSON.stringify(summary));
  else console.log(JSON.stringify(summary, null, 2));
  if (diverged) say(`${diverged.message}${args.exportDir !== null ? ' (nothing exported: its weights are not finite)' : ''}`);
  if (args.out) {
    try {
      await writeFile(args.out, JSON.stringify({ config, backend, summary, events }, null, 1));
    } catch (err) {
      say(`--out: could not write ${args.out} (${(err as Error).message}): the summary is above`);
      return EXIT.user;
    }
  }
  return diverged ? EXIT.diverged : EXIT.ok;
}

main().then((code) => process.exit(code), (err: unknown) => {
  say(messageOf(err));
  process.exit(EXIT.crash);
});
