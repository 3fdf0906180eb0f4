// SVG and PNG buttons for the chart they sit in (the nearest element with data-chart):
// the file says which run it shows, or `all-runs` for a chart of every run.
import { useState, type MouseEvent } from 'react';
import { chartSvg, svgToPng } from '../export/chart-image';
import { saveFile } from '../export/download';
import { allRunsStem, runStem } from '../export/names';
import { useActiveRun } from '../store/hooks';

export function ChartDownloads({ name, title, scope }: { name: string; title: string; scope: 'run' | 'all' }) {
  const run = useActiveRun();
  const [problem, setProblem] = useState<string | null>(null);
  const save = async (kind: 'svg' | 'png', e: MouseEvent<HTMLButtonElement>) => {
    const chart = e.currentTarget.closest('[data-chart]');
    const shown = scope === 'run' && run ? `${title}: ${run.label}${run.preset ? `, ${run.preset}` : ''}` : title;
    const image = chart ? chartSvg(chart, shown) : null;
    if (!image) return setProblem('nothing drawn yet');
    const file = `${scope === 'run' && run ? runStem(run) : allRunsStem()}-${name}.${kind}`;
    try {
      if (kind === 'svg') saveFile(file, image.svg, 'image/svg+xml');
      else saveFile(file, await svgToPng(image), 'image/png');
      setProblem(null);
    } catch (err) {
      setProblem(`could not draw the PNG: ${(err as Error).message}`);
    }
  };
  return (
    <span className="chart-downloads">
      <button data-testid={`${name}-svg`} title={`${title} as SVG`} onClick={(e) => void save('svg', e)}>SVG</button>
      <button data-testid={`${name}-png`} title={`${title} as PNG`} onClick={(e) => void save('png', e)}>PNG</button>
      {problem && <small className="bad">{problem}</small>}
    </span>
  );
}
