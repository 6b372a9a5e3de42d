import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { assert } from '../../core/assert.js';
import { ConfigError } from '../../core/errors.js';
import { createRng } from '../../core/rng.js';
import { readAlertFile } from './avro/container.js';
import { createCutoutScratch, cutoutTriplet, type CutoutsSpec } from './cutouts.js';
import type { AlertView } from './types.js';

/**
 * The real/bogus dataset (task `alerts-realbogus`): every ZTF packet under the alerts folder
 * that carries ZTF's deep real/bogus score `candidate.drb` (schema 3.3 and later), its cutout
 * triplet as the model input, drb as the teacher's output and `rb` (ZTF's earlier score)
 * beside it. Split by objectId (seeded), so no object is in two splits.
 */

/** The folders of `../shared/data/alerts` with ZTF packets that carry drb (3.2 has none). */
export const REALBOGUS_FOLDERS = ['ztf-3.3-2020-01', 'ztf-4.02-2023-10', 'fink-client-ztf', 'ztf-avro-alert/data'] as const;

/** Class 1 is drb >= 0.5, as ZTF reads the score. */
export const REALBOGUS_LABELS = ['bogus', 'real'] as const;
export const REALBOGUS_THRESHOLD = 0.5;

/** The model input: the triplet's 63-pixel stamps centre-cropped to 32 (sim: one alert in ~9 us). */
export const REALBOGUS_CUTOUTS: CutoutsSpec = { stamp: 63, size: 32 };

export type Split = 'train' | 'val' | 'test';

/** Objects per split (train, then val, the rest test) and the seed of their shuffle. */
export const REALBOGUS_SPLIT = { seed: 2026, train: 0.6, val: 0.2 } as const;

/** One packet of the dataset. */
export interface RealBogusRow {
  alert: AlertView;
  drb: number;
  rb: number;
}

/** Every `.avro` file under `dir`, recursively, sorted. */
export function avroFilesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    if (e.isDirectory()) out.push(...avroFilesUnder(path));
    else if (e.name.endsWith('.avro')) out.push(path);
  }
  return out.sort();
}

/**
 * Every ZTF packet with a numeric drb and rb in `REALBOGUS_FOLDERS` of `alertsRoot`, in
 * folder, file and record order, each candid once (the folders share a few packets: the
 * first is kept, the others counted in `duplicates`). A fault in a file is re-thrown
 * (AlertDecodeError): a training set is not built from a damaged file; a missing folder is a
 * ConfigError.
 */
export function realBogusRows(alertsRoot: string): { rows: RealBogusRow[]; withoutScore: number; duplicates: number } {
  const rows: RealBogusRow[] = [];
  const seen = new Set<bigint>();
  let withoutScore = 0, duplicates = 0;
  for (const folder of REALBOGUS_FOLDERS) {
    let files: string[];
    try {
      files = avroFilesUnder(join(alertsRoot, folder));
    } catch (err) {
      throw new ConfigError('--alerts', `${join(alertsRoot, folder)}: ${(err as Error).message} (the real/bogus dataset reads ../shared/data/alerts)`, { cause: err });
    }
    for (const path of files) {
      const file = readAlertFile(path);
      if (file.errors.length > 0) throw file.errors[0]!;
      for (const alert of file.alerts) {
        const drb = alert.field('candidate.drb'), rb = alert.field('candidate.rb');
        if (alert.survey !== 'ztf' || typeof drb !== 'number' || typeof rb !== 'number') withoutScore++;
        else if (seen.has(alert.id)) duplicates++;
        else {
          seen.add(alert.id);
          rows.push({ alert, drb, rb });
        }
      }
    }
  }
  return { rows, withoutScore, duplicates };
}

/**
 * The split of each row: the distinct objectIds, sorted, shuffled (Fisher-Yates on
 * `createRng(seed)`), the first `train` fraction to train, the next `val` to val, the rest
 * to test. Every alert of an object lands in its object's split.
 */
export function splitByObject(objectIds: readonly string[], split = REALBOGUS_SPLIT): Split[] {
  const objects = [...new Set(objectIds)].sort();
  const rng = createRng(split.seed);
  for (let i = objects.length - 1; i > 0; i--) {
    const j = rng.uint32() % (i + 1);
    [objects[i], objects[j]] = [objects[j]!, objects[i]!];
  }
  const nTrain = Math.round(objects.length * split.train), nVal = Math.round(objects.length * split.val);
  const of = new Map(objects.map((o, k) => [o, k < nTrain ? 'train' : k < nTrain + nVal ? 'val' : 'test'] as const));
  return objectIds.map((o) => of.get(o)!);
}

/** The rows of each split, in their original order. */
export function realBogusSplits(rows: readonly RealBogusRow[]): Record<Split, RealBogusRow[]> {
  const of = splitByObject(rows.map((r) => r.alert.objectId));
  const out: Record<Split, RealBogusRow[]> = { train: [], val: [], test: [] };
  rows.forEach((r, i) => out[of[i]!].push(r));
  return out;
}

/** The cutout triplets of `rows` as one CHW float32 array [n, 3, S, S] (cutoutTriplet). */
export function realBogusInputs(rows: readonly RealBogusRow[], spec: CutoutsSpec = REALBOGUS_CUTOUTS): Float32Array {
  const per = 3 * spec.size * spec.size;
  const x = new Float32Array(rows.length * per);
  const scratch = createCutoutScratch();
  rows.forEach((r, i) => cutoutTriplet(r.alert.cutouts, spec, x.subarray(i * per, (i + 1) * per), scratch, (stamp) => `${r.alert.source} record ${r.alert.index} ${stamp}`));
  return x;
}

/**
 * One of the 8 views of the dihedral group D4 of a CHW [C, S, S] input, as models/train/data.py's
 * `d4` makes them (view >= 4: flip the columns first; then view % 4 quarter turns of
 * torch.rot90 over (H, W)). Writes `out` (not `x`).
 */
export function d4View(x: Float32Array, side: number, view: number, out: Float32Array): void {
  assert(view >= 0 && view < 8 && x.length % (side * side) === 0 && out.length === x.length, 'd4View: view 0..7, [C, S, S] input and output');
  const plane = side * side, last = side - 1;
  for (let c = 0; c < x.length / plane; c++) {
    for (let i = 0; i < side; i++) {
      for (let j = 0; j < side; j++) {
        // rot90 by k: out[i][j] = in[j][last - i] (k = 1), in[last - i][last - j] (2), in[last - j][i] (3)
        let r = i, q = j;
        for (let k = 0; k < view % 4; k++) [r, q] = [q, last - r];
        if (view >= 4) q = last - q;
        out[c * plane + i * side + j] = x[c * plane + r * side + q]!;
      }
    }
  }
}

/** Held-out model inputs of the real/bogus task (what `compile --check` runs). */
export interface RealBogusHeldOut {
  source: string;
  inputs: Float32Array[];
  /** drb >= 0.5 of the alert each input comes from. */
  labels: Int8Array;
}

/**
 * Up to `n` held-out inputs: the test split's alerts, then the validation split's, in view 0
 * (as they arrive); then the same alerts in D4 views 1..7 (the model trains on all eight, so
 * each is an input it must handle), until `n`. Never a training alert.
 */
export function realBogusHeldOut(alertsRoot: string, n: number, spec: CutoutsSpec = REALBOGUS_CUTOUTS): RealBogusHeldOut {
  const splits = realBogusSplits(realBogusRows(alertsRoot).rows);
  const rows = [...splits.test, ...splits.val];
  const x = realBogusInputs(rows, spec);
  const per = 3 * spec.size * spec.size;
  const inputs: Float32Array[] = [];
  const labels: number[] = [];
  for (let view = 0; view < 8 && inputs.length < n; view++) {
    for (let i = 0; i < rows.length && inputs.length < n; i++) {
      const v = new Float32Array(per);
      d4View(x.subarray(i * per, (i + 1) * per), spec.size, view, v);
      inputs.push(v);
      labels.push(rows[i]!.drb >= REALBOGUS_THRESHOLD ? 1 : 0);
    }
  }
  const views = Math.ceil(inputs.length / rows.length);
  const source = `alerts-realbogus test+val split (${splits.test.length}+${splits.val.length} ZTF alerts${views > 1 ? `, D4 views 0-${views - 1}` : ''})`;
  return { source, inputs, labels: Int8Array.from(labels) };
}
