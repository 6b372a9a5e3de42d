/**
 * The end-to-end latency heatmap: one column per history interval, one row per log-spaced
 * latency bucket, colour by frames (log scale). Drawn on a canvas by hand: uPlot has no
 * heatmap series, and at 3,600 x ~40 cells a canvas fill per cell is cheap.
 */
import type { HistoryColumns } from '../../host/src/server/api-types.js';
import { formatIn, timeUnitFor } from './units.js';

const AXIS_PX = 64;
const BOTTOM_PX = 18;

/** Draws `heatmap` (with interval end times `t`, seconds) into `canvas`, sized to its box.
 * Returns the unit of the latency axis. */
export function drawHeatmap(canvas: HTMLCanvasElement, heatmap: HistoryColumns['heatmap'], t: readonly number[]): string {
  const ratio = window.devicePixelRatio || 1;
  const widthPx = Math.max(canvas.clientWidth, 300);
  const heightPx = Math.max(canvas.clientHeight, 160);
  canvas.width = Math.round(widthPx * ratio);
  canvas.height = Math.round(heightPx * ratio);
  const ctx = canvas.getContext('2d');
  if (ctx === null) return '';
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, widthPx, heightPx);
  const { bucketEdgesUs: edges, counts } = heatmap;
  const unit = timeUnitFor(edges);
  const plotW = widthPx - AXIS_PX;
  const plotH = heightPx - BOTTOM_PX;
  const rows = edges.length;
  const max = Math.max(1, ...counts.map((col) => Math.max(0, ...col)));
  const cellW = plotW / Math.max(1, counts.length);
  const cellH = plotH / Math.max(1, rows);
  counts.forEach((col, i) => {
    col.forEach((n, b) => {
      if (n <= 0) return;
      ctx.fillStyle = colour(Math.log1p(n) / Math.log1p(max));
      ctx.fillRect(AXIS_PX + i * cellW, plotH - (b + 1) * cellH, Math.ceil(cellW), Math.ceil(cellH));
    });
  });
  ctx.fillStyle = '#444';
  ctx.font = '11px system-ui, sans-serif';
  ctx.textAlign = 'right';
  const step = Math.max(1, Math.ceil(rows / 8));
  for (let b = 0; b < rows; b += step) ctx.fillText(formatIn(edges[b], unit), AXIS_PX - 6, plotH - b * cellH);
  ctx.textAlign = 'left';
  if (t.length > 0) {
    ctx.fillText(new Date(t[0] * 1000).toLocaleTimeString('en-GB'), AXIS_PX, heightPx - 4);
    ctx.textAlign = 'right';
    ctx.fillText(new Date(t[t.length - 1] * 1000).toLocaleTimeString('en-GB'), widthPx - 2, heightPx - 4);
  }
  return unit.name;
}

/** Light yellow through orange to dark red as `f` goes 0 to 1. */
function colour(f: number): string {
  const hue = 50 - 50 * f;
  const light = 85 - 55 * f;
  return `hsl(${hue.toFixed(0)} 90% ${light.toFixed(0)}%)`;
}
