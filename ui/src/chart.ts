/**
 * The trend chart: frames/s and end-to-end p99 over a sliding window, one point per
 * snapshot. Two y axes because the two series have unrelated units.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

/** How much history the chart keeps. */
export const TREND_WINDOW_S = 120;
const HEIGHT_PX = 220;

export interface TrendChart {
  /** Appends one point; `atS` is wall-clock seconds. Points older than the window fall off. */
  push(atS: number, fps: number, e2eP99Us: number | null): void;
  destroy(): void;
}

/** Draws into `container` (which it owns until `destroy()`), following its width. */
export function createTrendChart(container: HTMLElement): TrendChart {
  const times: number[] = [];
  const fps: number[] = [];
  const p99: Array<number | null> = [];
  const plot = new uPlot(options(container.clientWidth), [times, fps, p99], container);
  const resize = new ResizeObserver(() => plot.setSize({ width: container.clientWidth, height: HEIGHT_PX }));
  resize.observe(container);

  return {
    push(atS, fpsNow, p99Now) {
      times.push(atS);
      fps.push(fpsNow);
      p99.push(p99Now);
      while (times.length > 0 && times[0] < atS - TREND_WINDOW_S) {
        times.shift();
        fps.shift();
        p99.shift();
      }
      plot.setData([times, fps, p99]);
    },
    destroy() {
      resize.disconnect();
      plot.destroy();
    },
  };
}

function options(widthPx: number): uPlot.Options {
  return {
    width: Math.max(widthPx, 200),
    height: HEIGHT_PX,
    cursor: { drag: { x: false, y: false } },
    legend: { live: false },
    scales: { x: { time: true }, fps: { auto: true }, us: { auto: true } },
    series: [
      {},
      { label: 'frames/s', scale: 'fps', stroke: '#1f5fa8', width: 2 },
      { label: 'e2e p99 µs (last 5–10 s)', scale: 'us', stroke: '#b4461b', width: 2, spanGaps: false },
    ],
    axes: [
      { stroke: '#444' },
      { scale: 'fps', stroke: '#1f5fa8', size: 60 },
      { scale: 'us', side: 1, stroke: '#b4461b', size: 60, grid: { show: false } },
    ],
  };
}
