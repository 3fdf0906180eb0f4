// `npm run bench:compare -- TFJS.json TORCH.json`: the tfjs bench report (bench --out)
// against the PyTorch reference (torch_reference.py --out), per phase, as markdown.
import { comparisonTable, readTorchReference } from '../engine/bench/compare';
import { readJsonFile, readReport } from './read-report';

const [tfjsPath, torchPath] = process.argv.slice(2);
if (!tfjsPath || !torchPath) {
  console.error('usage: npm run bench:compare -- TFJS_REPORT.json TORCH_REFERENCE.json');
  process.exit(2);
}
try {
  const report = readReport(tfjsPath);
  const torch = readTorchReference(readJsonFile(torchPath, 'give a reference that torch_reference.py --out FILE wrote'), torchPath);
  console.log(comparisonTable(report, torch, { tfjs: tfjsPath, torch: torchPath }));
} catch (err) {
  console.error((err as Error).message);
  process.exit(1);
}
