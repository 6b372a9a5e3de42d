/**
 * What a cutout costs, per stamp, on the real alerts of ../shared/data/alerts:
 *   node build/bench/cutouts.js [--rounds N]      (after `make build`)
 * Rounds alternate libdeflate (the addon's gunzipInto) and node:zlib (gunzipSync, what the
 * fallback costs) over every ZTF stamp in the same process, then time the FITS parse of the
 * inflated ZTF stamps and the plain Rubin ones and the whole triplet per alert. Each figure is
 * the median over rounds of the mean per stamp (per alert for triplets), in microseconds,
 * with the fastest round beside it: on a shared VM the minimum is the better estimate of the
 * unloaded cost, the median of what a loaded machine gives.
 * Results: bench/results/cutouts.{json,md}.
 */
import { readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { limits } from '../host/src/core/limits.js';
import { readAlertFile } from '../host/src/modalities/alerts/avro/container.js';
import { createCutoutScratch, CUTOUT_CHANNELS, cutoutTriplet } from '../host/src/modalities/alerts/cutouts.js';
import { createFitsImage, decodeFits } from '../host/src/modalities/alerts/fits.js';
import { gunzipBackend, gunzipInto } from '../host/src/modalities/alerts/gunzip.js';
import type { AlertView } from '../host/src/modalities/alerts/types.js';
import { timed, type Timing } from './timing.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ALERTS = resolve(REPO, '..', 'shared', 'data', 'alerts');

/** Every alert under `dir`, recursively. */
function alertsIn(dir: string): AlertView[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return alertsIn(path);
    return e.name.endsWith('.avro') ? readAlertFile(path).alerts : [];
  });
}

/** Median and minimum of several timings of the same thing. */
function merged(ts: Timing[]): Timing {
  const med = ts.map((t) => t.median).sort((a, b) => a - b);
  return { median: med[med.length >> 1]!, min: Math.min(...ts.map((t) => t.min)) };
}

function main(): void {
  const rounds = Number(process.argv[process.argv.indexOf('--rounds') + 1]) || 21;
  const alerts = alertsIn(ALERTS);
  const full = alerts.filter((a) => CUTOUT_CHANNELS.every(([k]) => a.cutouts[k] !== null));
  const stampsOf = (survey: string) => full.filter((a) => a.survey === survey).flatMap((a) => CUTOUT_CHANNELS.map(([k]) => a.cutouts[k]!));
  const ztf = stampsOf('ztf');
  const rubin = stampsOf('rubin');
  const dst = new Uint8Array(limits.fitsStampBytesMax);
  const img = createFitsImage();
  const inflated = ztf.map((g) => new Uint8Array(gunzipSync(g)));
  const scratch = createCutoutScratch();
  const out = new Float32Array(3 * 63 * 63);
  const spec = { stamp: 63, size: 63 };
  let sink = 0;
  const libdeflate: Timing[] = [];
  const zlib: Timing[] = [];
  for (let r = 0; r < 5; r++) {
    // Alternate the two in the same process so drift on the shared VM hits both alike.
    libdeflate.push(timed(rounds, ztf.length, () => { for (const g of ztf) sink += gunzipInto(g, dst, 'bench'); }));
    zlib.push(timed(rounds, ztf.length, () => { for (const g of ztf) sink += gunzipSync(g).length; }));
  }
  const [lib, z] = [merged(libdeflate), merged(zlib)];
  const result = {
    date: new Date().toISOString(),
    node: process.version,
    gunzipBackend,
    alerts: alerts.length,
    ztfStamps: ztf.length,
    rubinStamps: rubin.length,
    gunzipUsPerStamp: { libdeflate: lib, zlib: z, zlibOverLibdeflate: { median: z.median / lib.median, min: z.min / lib.min } },
    fitsParseUsPerStamp: {
      // As cutoutTriplet reads them: from the one scratch buffer (a copy of under a microsecond).
      ztf: timed(rounds, inflated.length, () => { for (const b of inflated) { dst.set(b); sink += decodeFits(dst, img, 'bench', b.length).width; } }),
      rubin: timed(rounds, rubin.length, () => { for (const b of rubin) { dst.set(b); sink += decodeFits(dst, img, 'bench', b.length).width; } }),
    },
    tripletUsPerAlert: Object.fromEntries(['ztf', 'rubin'].map((s) => {
      const as = full.filter((a) => a.survey === s);
      return [s, timed(rounds, as.length, () => { for (const a of as) cutoutTriplet(a.cutouts, spec, out, scratch); })];
    })),
  };
  if (sink === 0) throw new Error('nothing was decoded');
  const dir = join(REPO, 'bench', 'results');
  writeFileSync(join(dir, 'cutouts.json'), `${JSON.stringify(result, null, 2)}\n`);
  const f = (t: Timing) => `${t.median.toFixed(2)} | ${t.min.toFixed(2)}`;
  const md = [
    `# Cutouts (${result.date}, ${result.node}, ${result.alerts} alerts: ${result.ztfStamps} ZTF stamps, ${result.rubinStamps} Rubin)`,
    '',
    '| what | us, median | us, fastest round |',
    '| --- | ---: | ---: |',
    `| gunzip per ZTF stamp, libdeflate (addon) | ${f(result.gunzipUsPerStamp.libdeflate)} |`,
    `| gunzip per ZTF stamp, node:zlib gunzipSync | ${f(result.gunzipUsPerStamp.zlib)} |`,
    `| zlib / libdeflate (ratio) | ${result.gunzipUsPerStamp.zlibOverLibdeflate.median.toFixed(2)}x | ${result.gunzipUsPerStamp.zlibOverLibdeflate.min.toFixed(2)}x |`,
    `| FITS parse per ZTF stamp (63x63 float32, inflated; copied into the scratch first) | ${f(result.fitsParseUsPerStamp.ztf)} |`,
    `| FITS parse per Rubin stamp (plain; copied into the scratch first) | ${f(result.fitsParseUsPerStamp.rubin)} |`,
    `| triplet per ZTF alert (3 x gunzip + parse + crop/norm, S = 63) | ${f(result.tripletUsPerAlert.ztf!)} |`,
    `| triplet per Rubin alert (3 x parse + pad/norm, S = 63) | ${f(result.tripletUsPerAlert.rubin!)} |`,
    '',
  ].join('\n');
  writeFileSync(join(dir, 'cutouts.md'), md);
  console.log(md);
}

main();
