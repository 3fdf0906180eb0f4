// `npm run bench:compare -- TFJS.json TORCH.json`: the tfjs bench report (bench --out)
// against the PyTorch reference (torch_reference.py --out), per phase, as markdown.
import { parseArgs } from 'node:util';
import { comparisonTable, readTorchReference } from '../engine/bench/compare';
import { EXIT, say } from './output';
import { readJsonFile, readReport } from './read-report';

export const COMPARE_USAGE = `usage: npm run bench:compare -- TFJS_REPORT.json TORCH_REFERENCE.json [flags]
  TFJS_REPORT.json         the tfjs report: npm run bench -- --out FILE
  TORCH_REFERENCE.json     the PyTorch reference on the same config: python3 torch_reference.py CONFIG.json --out FILE,
                           CONFIG.json from npm run bench -- --print-config with the same flags
  --help                   this text
exit codes: 0 printed, 2 a bad flag or file, or the two ran different models, batches or ranks (named), 1 anything else`;

function main(): number {
  let parsed;
  try {
    // strict: an unknown flag (--bogus) was read as a file name
    parsed = parseArgs({ args: process.argv.slice(2), allowPositionals: true, strict: true, options: { help: { type: 'boolean', default: false } } });
  } catch (err) {
    say(`${(err as Error).message}\n${COMPARE_USAGE}`);
    return EXIT.user;
  }
  if (parsed.values.help) {
    console.log(COMPARE_USAGE);
    return EXIT.ok;
  }
  if (parsed.positionals.length !== 2) {
    say(`give the tfjs report and the PyTorch reference, two files (got ${parsed.positionals.length})\n${COMPARE_USAGE}`);
    return EXIT.user;
  }
  const [tfjsPath, torchPath] = parsed.positionals as [string, string];
  let table;
  try {
    const report = readReport(tfjsPath);
    const torch = readTorchReference(readJsonFile(torchPath, 'give a reference that torch_reference.py --out FILE wrote'), torchPath);
    table = comparisonTable(report, torch, { tfjs: tfjsPath, torch: torchPath });
  } catch (err) {
    say((err as Error).message);
    return EXIT.user;
  }
  console.log(table);
  return EXIT.ok;
}

process.exit(main());
