// The real/bogus dataset export against an independent reading of the same packets in Python:
// Apache Avro's reader (python3-avro), gzip and astropy for the stamps, and the numpy twin of the
// cutout preprocessing (models/train/alerts_cutouts.py). Every exported triplet must equal
// Python's to one float32 rounding (numpy sums the squares of the norm pairwise, TypeScript in
// order), the scores and labels the packet's, each row's object the packet's objectId, no
// object in two splits; and the held-out D4 views `compile --check` runs must be
// models/train/data.py's views of the exported rows, exactly.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exportRealBogus } from '../../host/src/datasets/export.js';
import { REALBOGUS_FOLDERS, realBogusHeldOut } from '../../host/src/modalities/alerts/realbogus.js';
import { ALERTS_DIR } from '../support/alerts.js';
import { tempDir } from '../support/fixtures.js';
import { runPython, TRAIN } from '../support/python.js';

/** Held-out rows whose D4 views are compared: the first and a later test alert, a val alert. */
const VIEW_ROWS = [0, 57, 130];

const SCRIPT = `
import glob, gzip, io, json, sys
import numpy as np, torch
from astropy.io import fits
import avro.datafile, avro.io
sys.path.insert(0, sys.argv[1])
import alerts_cutouts, data
root, out, folders = sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
packets, records = {}, 0
for folder in folders:
    for path in sorted(glob.glob(f"{root}/{folder}/**/*.avro", recursive=True)):
        with open(path, "rb") as f:
            for rec in avro.datafile.DataFileReader(f, avro.io.DatumReader()):
                records += 1
                c = rec.get("candidate")
                if c is not None and c.get("drb") is not None:
                    packets.setdefault(c["candid"], rec)
def stamp(rec, key):
    with fits.open(io.BytesIO(gzip.decompress(rec[key]["stampData"]))) as h:
        return np.array(h[0].data, np.float64)
meta = json.load(open(f"{out}/meta.json"))
size = meta["input"]["shape"][1]
res = {"records": records, "packets": len(packets), "rows": 0, "worstUlp": 0.0, "bad": [], "objectsBySplit": {}}
xs = {}
for split in ("train", "val", "test"):
    x, y, drb, rb, group, candid = (np.load(f"{out}/{split}_{k}.npy") for k in ("x", "y", "drb", "rb", "group", "candid"))
    xs[split] = x
    res["rows"] += len(x)
    res["objectsBySplit"][split] = sorted({meta["objects"][g] for g in group})
    for i in range(len(x)):
        rec = packets[int(candid[i])]
        c = rec["candidate"]
        if not (drb[i] == np.float32(c["drb"]) and rb[i] == np.float32(c["rb"]) and y[i] == int(c["drb"] >= 0.5)
                and meta["objects"][group[i]] == rec["objectId"]):
            res["bad"].append(f"{split} row {i}: scores, label or object differ")
        want = alerts_cutouts.cutout_triplet(*(stamp(rec, k) for k in ("cutoutScience", "cutoutTemplate", "cutoutDifference")), stamp_side=63, size=size)
        ulp = np.maximum(np.abs(want) * 2.0 ** -23, 2.0 ** -149)
        res["worstUlp"] = max(res["worstUlp"], float((np.abs(x[i].astype(np.float64) - want) / ulp).max()))
held = np.concatenate([xs["test"], xs["val"]])
views = np.fromfile(f"{out}/views.f32", "<f4").reshape(-1, 8, *held.shape[1:])
for k, row in enumerate(json.loads(sys.argv[5])):
    for v in range(8):
        if not np.array_equal(views[k, v], data.d4(torch.from_numpy(held[row:row + 1]), v)[0].numpy()):
            res["bad"].append(f"held-out row {row} view {v} differs from data.d4")
print(json.dumps(res))
`;

describe('alerts-realbogus export equals an independent Python reading of the packets', () => {
  it('every triplet, score, label and object; the held-out D4 views', () => {
    const out = tempDir('realbogus-export');
    const summary = exportRealBogus(ALERTS_DIR, out);
    const held = realBogusHeldOut(ALERTS_DIR, 8 * (summary.dataset.test + summary.dataset.val));
    const heldRows = summary.dataset.test + summary.dataset.val;
    const views = new Float32Array(VIEW_ROWS.length * 8 * held.inputs[0]!.length);
    VIEW_ROWS.forEach((row, k) => {
      for (let v = 0; v < 8; v++) views.set(held.inputs[v * heldRows + row]!, (k * 8 + v) * held.inputs[0]!.length);
    });
    writeFileSync(join(out, 'views.f32'), views);
    const r = JSON.parse(runPython(['-c', SCRIPT, TRAIN, ALERTS_DIR, out, JSON.stringify(REALBOGUS_FOLDERS), JSON.stringify(VIEW_ROWS)], 300_000)) as {
      records: number; packets: number; rows: number; worstUlp: number; bad: string[]; objectsBySplit: Record<string, string[]>;
    };
    expect(r.bad).toEqual([]);
    // Python counts the packets with drb on its own: the export keeps every one of them.
    expect(r.rows).toBe(r.packets);
    expect(r.packets).toBeGreaterThan(600);
    expect(r.worstUlp).toBeLessThanOrEqual(1);
    const seen = new Set<string>();
    for (const objects of Object.values(r.objectsBySplit)) {
      for (const o of objects) {
        expect(seen.has(o), `${o} in two splits`).toBe(false);
        seen.add(o);
      }
    }
    const meta = JSON.parse(readFileSync(join(out, 'meta.json'), 'utf8')) as { notes: { alertsWithoutScore: number; duplicatePackets: number } };
    expect(meta.notes.alertsWithoutScore + meta.notes.duplicatePackets).toBe(r.records - r.packets);
  }, 300_000);
});
