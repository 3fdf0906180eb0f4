// The conventions every line chart of the page follows, as TensorBoard and W&B have them,
// in one place: a smoothing control (EMA over the raw line drawn faint), a log/linear
// switch, and a hover that reads every series at the step (smoothed, and raw beside it).
import { useState } from 'react';
import { Line, type LineProps } from 'recharts';
import { rawKey } from './smooth';

export interface ChartScale {
  smoothing: number;
  setSmoothing: (s: number) => void;
  log: boolean;
  setLog: (l: boolean) => void;
}

/** A chart's own smoothing and scale, from its defaults (the loss: 0.6, linear; a sparse series: 0). */
export function useChartScale(smoothing: number, log = false): ChartScale {
  const [s, setSmoothing] = useState(smoothing);
  const [l, setLog] = useState(log);
  return { smoothing: s, setSmoothing, log: l, setLog };
}

/** The controls, in the chart's heading: `smooth` and `log` say which the chart has. Test ids: `NAME-smoothing`, `NAME-log`. */
export function ChartControls({ name, scale, smooth = true, log = true }: { name: string; scale: ChartScale; smooth?: boolean; log?: boolean }) {
  return (
    <span className="chart-controls">
      {smooth ? (
        <label title="exponential moving average (as TensorBoard's), the raw values faint behind"><small>smoothing</small>
          <input type="range" data-testid={`${name}-smoothing`} min={0} max={0.99} step={0.01} value={scale.smoothing}
            onChange={(e) => scale.setSmoothing(Number(e.target.value))} />
          <small>{scale.smoothing.toFixed(2)}</small></label>
      ) : null}
      {log ? (
        <label title="logarithmic y axis"><input type="checkbox" data-testid={`${name}-log`} checked={scale.log}
          onChange={(e) => scale.setLog(e.target.checked)} /><small>log</small></label>
      ) : null}
    </span>
  );
}

export interface SeriesStyle {
  key: string;
  name: string;
  color: string;
  dash?: string;
  dot?: boolean;
  /** stepped (a count that changes at events), not interpolated */
  step?: boolean;
  /** drawn at the smoothed line's points (e.g. a label at its end) */
  label?: LineProps['label'];
}

/**
 * A series' lines: the raw values faint (only while smoothing, out of the legend and the
 * hover's list), then the smoothed line in full. Elements, not a component: the chart
 * takes its Line children as they are.
 */
export function seriesLines(s: SeriesStyle, smoothing: number, connect = true) {
  const common = { stroke: s.color, strokeDasharray: s.dash, isAnimationActive: false, connectNulls: connect, type: s.step ? 'stepAfter' as const : 'linear' as const };
  return [
    smoothing > 0
      ? <Line key={rawKey(s.key)} dataKey={rawKey(s.key)} legendType="none" tooltipType="none" strokeOpacity={0.22} dot={false} {...common} />
      : null,
    <Line key={s.key} dataKey={s.key} name={s.name} dot={s.dot ? { r: 2 } : false} label={s.label} {...common} />,
  ];
}

type Entry = { dataKey?: unknown; name?: unknown; value?: unknown; color?: string; payload?: Record<string, unknown> };

/**
 * The hover's read-out: the step, then every series that has a value there, largest
 * first, smoothed and (while smoothing) its raw value beside it.
 */
export function ReadOut({ active, payload, label, format, smoothing }: {
  active?: boolean; payload?: readonly Entry[]; label?: unknown; format: (v: number) => string; smoothing: number;
}) {
  if (!active || !payload?.length) return null;
  const rows = payload
    .filter((e) => typeof e.value === 'number' && !String(e.dataKey).startsWith('raw:'))
    .sort((a, b) => (b.value as number) - (a.value as number));
  return (
    <div className="read-out" data-testid="read-out">
      <b>step {String(label)}</b>
      {rows.map((e) => {
        const raw = e.payload?.[rawKey(String(e.dataKey))];
        return (
          <div key={String(e.dataKey)} style={{ color: e.color }}>
            {String(e.name)}: {format(e.value as number)}
            {smoothing > 0 && typeof raw === 'number' ? <small> (raw {format(raw)})</small> : null}
          </div>
        );
      })}
    </div>
  );
}
