// `npm run bench:compare -- TFJS.json TORCH.json`: the tfjs bench report (bench --out)
// against the PyTorch reference (torch_reference.py --out), per phase, as markdown.
import { comparisonTable, readTorchReference, REFERENCE_FIX } from '../engine/bench/compare';
import { EXIT, say } from './output';
import { readJsonFile, readReport } from './read-report';
import { runTool, toolArgs } from './tool-args';

export const COMPARE_USAGE = `usage: npm run bench:compare -- TFJS_REPORT.json TORCH_REFERENCE.json [flags]
  TFJS_REPORT.json         the tfjs report: npm run bench -- --out FILE
  TORCH_REFERENCE.json     the PyTorch reference on the same config: python3 torch_reference.py CONFIG.json --out FILE,
                           CONFIG.json from npm run bench -- --print-config with the same flags
  --help                   this text
exit codes: 0 printed, 2 a bad flag or file, or the two ran different models, batches or ranks (named), 1 anything else`;

function main(): number {
  const args = toolArgs(process.argv.slice(2), COMPARE_USAGE);
  if (typeof args === 'number') return args;
  if (args.files.length !== 2) {
    say(`give the tfjs report and the PyTorch reference, two files (got ${args.files.length})\n${COMPARE_USAGE}`);
    return EXIT.user;
  }
  const [tfjsPath, torchPath] = args.files as [string, string];
  const report = readReport(tfjsPath);
  const torch = readTorchReference(readJsonFile(torchPath, REFERENCE_FIX), torchPath);
  console.log(comparisonTable(report, torch, { tfjs: tfjsPath, torch: torchPath }));
  return EXIT.ok;
}

runTool(main);
