/**
 * uPlot charts with labelled axes and one unit per axis chosen by magnitude (units.ts): a
 * time chart (history columns against wall-clock time) and the "nines" chart (latency against
 * 1 / (1 - percentile) on a log axis, as HdrHistogram plots it). Each follows its container's
 * width, so charts in a hidden tab draw when the tab is shown.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { LatencyDistribution, LatencySeries } from '../../host/src/server/api-types.js';
import { ninesLabel, timeUnitFor, type TimeUnit } from './units.js';

const TIME_INCRS_S = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600];

export interface SeriesSpec {
  label: string;
  stroke: string;
  fill?: string;
  dash?: number[];
}

export interface TimeChartSpec {
  series: SeriesSpec[];
  /** What the y axis shows: a latency in µs (scaled to one unit), or a plain quantity. */
  y: { kind: 'latency'; label: string } | { kind: 'plain'; label: string };
  heightPx?: number;
}

export interface TimeChart {
  /** `ys[i]` is series i's column, in µs for a latency chart; null is a gap. */
  setData(t: readonly number[], ys: ReadonlyArray<ReadonlyArray<number | null>>): void;
  /** The unit the y axis shows now ('µs', 'ms', ...; '' for a plain chart). */
  unit(): string;
  /** Vertical markers at times `tS` (seconds, as the time column), each labelled (a model
   * switch on the overview's rates); replaces the previous ones. */
  setMarkers(markers: ReadonlyArray<ChartMarker>): void;
}

/** A vertical line on a time chart, with its label at the top. */
export interface ChartMarker {
  tS: number;
  label: string;
  colour: string;
}

/** A chart of columns against time in `container` (which it owns). */
export function createTimeChart(container: HTMLElement, spec: TimeChartSpec): TimeChart {
  const heightPx = spec.heightPx ?? 200;
  let markers: ReadonlyArray<ChartMarker> = [];
  let unit: TimeUnit | null = spec.y.kind === 'latency' ? timeUnitFor([]) : null;
  const axisLabel = () => (unit === null ? spec.y.label : `${spec.y.label} (${unit.name})`);
  const opts: uPlot.Options = {
    width: widthOf(container),
    height: heightPx,
    cursor: { drag: { x: false, y: false } },
    scales: { x: { time: true } },
    series: [{ label: 'time' }, ...spec.series.map((s) => ({ label: s.label, stroke: s.stroke, fill: s.fill, dash: s.dash, width: 1.5, points: { show: false } }))],
    // Whole seconds and up on the time axis: the history's rows are a second apart.
    axes: [{ stroke: '#444', label: 'time (local)', space: 70, incrs: TIME_INCRS_S }, { stroke: '#444', size: 64, label: axisLabel() }],
    hooks: { draw: [(u) => drawMarkers(u, markers)] },
  };
  const plot = new uPlot(opts, [[], ...spec.series.map(() => [])], container);
  follow(container, plot, heightPx);
  container.dataset.unit = unit?.name ?? '';
  return {
    setData(t, ys) {
      if (unit !== null) {
        unit = timeUnitFor(ys.flat());
        const per = unit.us;
        ys = ys.map((col) => col.map((v) => (v === null ? null : v / per)));
        plot.axes[1].label = axisLabel();
        container.dataset.unit = unit.name;
      }
      plot.setData([t as number[], ...(ys as Array<Array<number | null>>)]);
      container.dataset.points = String(t.length);
    },
    unit: () => unit?.name ?? '',
    setMarkers(next) {
      const same = next.length === markers.length && next.every((m, i) => m.tS === markers[i]!.tS && m.label === markers[i]!.label);
      markers = next;
      container.dataset.markers = String(next.length);
      // Redrawn only when they changed, and once the chart has data (uPlot cannot redraw before).
      if (!same && container.dataset.points !== undefined) plot.redraw(false);
    },
  };
}

/** Dashed vertical lines at the markers inside the x range, labels at the top of the plot area. */
function drawMarkers(u: uPlot, markers: ReadonlyArray<ChartMarker>): void {
  const { ctx, bbox } = u;
  const [lo, hi] = [u.scales.x.min ?? Number.NaN, u.scales.x.max ?? Number.NaN];
  ctx.save();
  ctx.setLineDash([4, 3]);
  ctx.lineWidth = 1;
  ctx.font = `${Math.round(10 * devicePixelRatio)}px sans-serif`;
  for (const m of markers) {
    if (!(m.tS >= lo && m.tS <= hi)) continue;
    const x = Math.round(u.valToPos(m.tS, 'x', true));
    ctx.strokeStyle = m.colour;
    ctx.fillStyle = m.colour;
    ctx.beginPath();
    ctx.moveTo(x, bbox.top);
    ctx.lineTo(x, bbox.top + bbox.height);
    ctx.stroke();
    ctx.fillText(m.label, x + 3, bbox.top + 10 * devicePixelRatio);
  }
  ctx.restore();
}

/** Series the nines chart draws, with their colours. */
export const NINES_SERIES: ReadonlyArray<{ series: LatencySeries; stroke: string }> = [
  { series: 'e2e', stroke: '#1b1f24' },
  { series: 'queue', stroke: '#8a8f98' },
  { series: 'service', stroke: '#1f5fa8' },
  { series: 'decode', stroke: '#7b4fa8' },
  { series: 'preprocess', stroke: '#2a9d8f' },
  { series: 'infer', stroke: '#e07b00' },
  { series: 'policy', stroke: '#a8324f' },
  { series: 'emit', stroke: '#5a7d1f' },
  { series: 'device', stroke: '#b4461b' },
];

export interface NinesChart {
  setData(d: LatencyDistribution): void;
  unit(): string;
}

/** The percentile-distribution chart: one line per series, the budget dashed. */
export function createNinesChart(container: HTMLElement): NinesChart {
  const heightPx = 300;
  let unit = timeUnitFor([]);
  const opts: uPlot.Options = {
    width: widthOf(container),
    height: heightPx,
    cursor: { drag: { x: false, y: false } },
    scales: {
      // From 0% (x = 1) to the first power of ten past the deepest percentile shown.
      x: { time: false, distr: 3, log: 10, range: (_u, _min, max) => [1, 10 ** Math.max(1, Math.ceil(Math.log10(max) - 1e-9))] },
      y: { auto: true },
    },
    series: [
      { label: 'percentile', value: (_u, v) => (v === null ? '–' : ninesLabel(v)) },
      ...NINES_SERIES.map(({ series, stroke }) => ({ label: series, stroke, width: series === 'e2e' ? 2.5 : 1.5, spanGaps: true, points: { show: false } })),
      { label: 'budget', stroke: '#d62828', dash: [6, 4], width: 1.5, points: { show: false } },
    ],
    axes: [
      {
        stroke: '#444',
        label: 'percentile',
        splits: (_u, _i, min, max) => decades(min, max),
        // uPlot's default for log scales labels powers of ten only; 2 (50%) is one of ours.
        filter: (_u, splits) => splits,
        values: (_u, splits) => splits.map(ninesLabel),
      },
      { stroke: '#444', size: 64, label: 'latency (µs)' },
    ],
  };
  const plot = new uPlot(opts, [[], ...NINES_SERIES.map(() => []), []], container);
  follow(container, plot, heightPx);
  return {
    setData(d) {
      const xs = [...new Set(NINES_SERIES.flatMap(({ series }) => d.series[series]?.points.map((p) => p.inverted) ?? []))]
        .filter((x) => x >= 1 && Number.isFinite(x))
        .sort((a, b) => a - b);
      const columns = NINES_SERIES.map(({ series }) => {
        const at = new Map((d.series[series]?.points ?? []).map((p) => [p.inverted, p.valueUs]));
        return xs.map((x) => at.get(x) ?? null);
      });
      unit = timeUnitFor([...columns.flat(), d.budgetUs]);
      const scaled = columns.map((col) => col.map((v) => (v === null ? null : v / unit.us)));
      plot.axes[1].label = `latency (${unit.name})`;
      container.dataset.unit = unit.name;
      plot.setData([xs, ...scaled, xs.map(() => d.budgetUs / unit.us)]);
      container.dataset.points = String(xs.length);
    },
    unit: () => unit.name,
  };
}

/** 2 (50%), 10 (90%), 100 (99%), ...: the nines inside [min, max]. */
function decades(min: number, max: number): number[] {
  const out: number[] = [];
  if (2 >= min && 2 <= max) out.push(2);
  for (let x = 10; x <= max * 1.0001; x *= 10) if (x >= min) out.push(x);
  return out;
}

function widthOf(container: HTMLElement): number {
  return Math.max(container.clientWidth, 300);
}

/** Keeps `plot` as wide as `container`; a hidden container (0 wide) is left alone. */
function follow(container: HTMLElement, plot: uPlot, heightPx: number): void {
  new ResizeObserver(() => {
    if (container.clientWidth > 0) plot.setSize({ width: container.clientWidth, height: heightPx });
  }).observe(container);
}
