/**
 * A trigger's detail (`GET /api/triggers/:run/:seq`): a cell's crop, an alert's three
 * cutouts with its light curve per band, or a keyword's spectrogram with its stream time,
 * drawn on canvases. The daemon keeps only the last `limits.triggerDetailsMax` frames, so an
 * older trigger says so.
 */
import uPlot from 'uplot';
import type { TriggerEvent } from '../../../host/src/metrics/snapshot.js';
import type { TriggerDetail, TriggerView } from '../../../host/src/server/api-types.js';
import { ApiError, getJson } from '../api.js';
import type { ElementLookup } from '../dom.js';
import { formatScore } from '../format.js';
import { objectOf } from './triggers.js';

/** On-screen size of one cutout or crop (the pixels are scaled up, unsmoothed). */
const IMAGE_PX = 160;
const BAND_COLOURS: Record<string, string> = { g: '#2a9d8f', r: '#d62828', i: '#7b4fa8', u: '#1f5fa8', z: '#5a3d1f', y: '#e07b00' };

export interface DetailView {
  open(e: TriggerEvent): Promise<void>;
}

export function createDetailView(el: ElementLookup): DetailView {
  let curve: uPlot | null = null;
  return {
    async open(e) {
      const panel = el('detail');
      panel.hidden = false;
      el('detail-title').textContent = `${e.seq} · ${objectOf(e)} · ${e.class} (probability ${formatScore(e.score)})`;
      el('detail-text').textContent = 'loading…';
      el('detail-images').replaceChildren();
      curve?.destroy();
      curve = null;
      el('detail-chart').hidden = true;
      let detail: TriggerDetail;
      try {
        detail = await getJson<TriggerDetail>(`api/triggers/${encodeURIComponent(e.run)}/${e.seq}`);
      } catch (err) {
        el('detail-text').textContent = err instanceof ApiError && err.status === 404 ? `Trigger ${e.seq} has left the daemon's detail ring (it keeps the most recent ones).` : String((err as Error).message);
        return;
      }
      el('detail-images').dataset.kind = detail.view.kind;
      curve = show(el, detail.view);
      panel.scrollIntoView({ block: 'nearest' });
    },
  };
}

function show(el: ElementLookup, v: TriggerView): uPlot | null {
  const images = el('detail-images');
  const doc = images.ownerDocument;
  if (v.kind === 'none') {
    el('detail-text').textContent = v.reason;
    return null;
  }
  if (v.kind === 'image') {
    el('detail-text').textContent = `crop ${v.width} × ${v.height} px`;
    images.append(figure(doc, 'crop', rgbaFromImage(v), v.width, v.height));
    return null;
  }
  if (v.kind === 'spectrogram') {
    const at = v.streamMs === null ? '' : ` at t = ${(v.streamMs / 1000).toFixed(2)} s in the stream`;
    el('detail-text').textContent = `${v.feature}, ${v.frames} frames × ${v.bins} coefficients${at} (time left to right, coefficient bottom to top, each coefficient over its own range)`;
    images.append(figure(doc, v.feature, rgbaFromSpectrogram(v), v.frames, v.bins, 3));
    return null;
  }
  el('detail-text').textContent = `${v.objectId}: science, template and difference (zscale stretch), and the light curve per band`;
  for (const c of v.cutouts) images.append(figure(doc, c.name, rgbaGrey(c.pixels, zscale(c.pixels)), c.width, c.height));
  el('detail-chart').hidden = false;
  return lightCurve(el('detail-chart'), v.lightcurve);
}

function figure(doc: Document, caption: string, rgba: Uint8ClampedArray, width: number, height: number, aspect = 1): HTMLElement {
  const fig = doc.createElement('figure');
  const canvas = doc.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  canvas.style.width = `${IMAGE_PX * aspect}px`;
  canvas.style.height = `${IMAGE_PX}px`;
  canvas.getContext('2d')?.putImageData(new ImageData(rgba as Uint8ClampedArray<ArrayBuffer>, width, height), 0, 0);
  const cap = doc.createElement('figcaption');
  cap.textContent = caption;
  fig.append(canvas, cap);
  return fig;
}

function rgbaFromImage(v: Extract<TriggerView, { kind: 'image' }>): Uint8ClampedArray {
  const n = v.width * v.height;
  const out = new Uint8ClampedArray(n * 4);
  for (let i = 0; i < n; i++) {
    const p = i * v.channels;
    const grey = v.channels < 3;
    out[i * 4] = v.pixels[p];
    out[i * 4 + 1] = v.pixels[grey ? p : p + 1];
    out[i * 4 + 2] = v.pixels[grey ? p : p + 2];
    out[i * 4 + 3] = 255;
  }
  return out;
}

/** Frames run left to right and coefficients bottom to top. Each coefficient is stretched over
 * its own range: MFCC 0 is the log energy, whose range dwarfs the others' and would leave them
 * one colour. */
function rgbaFromSpectrogram(v: Extract<TriggerView, { kind: 'spectrogram' }>): Uint8ClampedArray {
  const out = new Uint8ClampedArray(v.frames * v.bins * 4);
  for (let b = 0; b < v.bins; b++) {
    const row = Array.from({ length: v.frames }, (_, f) => v.values[f * v.bins + b]).filter(Number.isFinite);
    const lo = Math.min(...row);
    const span = Math.max(...row) - lo || 1;
    for (let f = 0; f < v.frames; f++) {
      const x = (v.values[f * v.bins + b] - lo) / span;
      const o = ((v.bins - 1 - b) * v.frames + f) * 4;
      out[o] = 255 * Math.min(1, 2 * x);
      out[o + 1] = 255 * Math.max(0, 2 * x - 1);
      out[o + 2] = 96 * (1 - x);
      out[o + 3] = 255;
    }
  }
  return out;
}

/**
 * IRAF's zscale, simplified (written here: no maintained browser package does it): fit a line
 * to the sorted finite pixels' middle half; the display range is the median plus or minus the
 * slope / contrast times half the sample, clipped to the data. Stars saturate, the sky shows.
 */
export function zscale(pixels: ReadonlyArray<number | null>, contrast = 0.25): [number, number] {
  const v = pixels.filter((p): p is number => p !== null && Number.isFinite(p)).sort((a, b) => a - b);
  if (v.length === 0) return [0, 1];
  const n = v.length;
  const lo = Math.floor(n / 4);
  const hi = Math.max(lo + 2, Math.ceil((3 * n) / 4));
  let sx = 0, sy = 0, sxx = 0, sxy = 0, m = 0;
  for (let i = lo; i < Math.min(hi, n); i++, m++) {
    sx += i;
    sy += v[i];
    sxx += i * i;
    sxy += i * v[i];
  }
  const slope = m > 1 ? (m * sxy - sx * sy) / (m * sxx - sx * sx || 1) : 0;
  const median = v[Math.floor(n / 2)];
  const half = (slope / contrast) * (n / 2);
  const z1 = Math.max(v[0], median - half);
  const z2 = Math.min(v[n - 1], median + half);
  return z2 > z1 ? [z1, z2] : [v[0], v[n - 1] > v[0] ? v[n - 1] : v[0] + 1];
}

/** Grey levels for `pixels` stretched linearly over `[z1, z2]`; null (NaN) pixels show blue. */
function rgbaGrey(pixels: ReadonlyArray<number | null>, [z1, z2]: [number, number]): Uint8ClampedArray {
  const out = new Uint8ClampedArray(pixels.length * 4);
  pixels.forEach((p, i) => {
    const g = p === null ? 0 : (255 * (p - z1)) / (z2 - z1);
    out[i * 4] = g;
    out[i * 4 + 1] = g;
    out[i * 4 + 2] = p === null ? 160 : g;
    out[i * 4 + 3] = 255;
  });
  return out;
}

/** Magnitude against MJD, one series per band, brighter up (the y scale runs downwards). */
function lightCurve(container: HTMLElement, bands: Extract<TriggerView, { kind: 'alert' }>['lightcurve']): uPlot {
  const xs = [...new Set(bands.flatMap((b) => b.mjd))].sort((a, b) => a - b);
  const columns = bands.map((b) => {
    const at = new Map(b.mjd.map((x, i) => [x, b.mag[i]]));
    return xs.map((x) => at.get(x) ?? null);
  });
  const opts: uPlot.Options = {
    width: Math.max(container.clientWidth, 300),
    height: 200,
    scales: { x: { time: false }, y: { dir: -1 } },
    series: [{ label: 'MJD' }, ...bands.map((b) => ({ label: `${b.band} band`, stroke: BAND_COLOURS[b.band] ?? '#444', width: 0, points: { show: true, size: 6 } }))],
    // MJD is a date, not a quantity: no thousands separators (60235.25, as astronomers write it).
    axes: [{ label: 'MJD (days)', stroke: '#444', space: 90, values: (_u, splits) => splits.map((v) => String(Number(v.toFixed(4)))) }, { label: 'magnitude', stroke: '#444', size: 56 }],
  };
  return new uPlot(opts, [xs, ...columns] as uPlot.AlignedData, container);
}
