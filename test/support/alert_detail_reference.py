"""Independent reading of alert packets for the trigger detail test, with Apache Avro's own
Python reader (python3-avro) and astropy: for each record under the given paths whose id
(ZTF candid, Rubin diaSourceId) is one of IDS (comma-separated), one JSON line
  {"id", "objectId", "cutouts": [{"name", "width", "height", "pixels"}],
   "lightcurve": [{"band", "mjd", "mag", "magErr"}]}
cutouts: science, template, difference as astropy reads the stamp (ZTF gzip, Rubin plain
FITS; data.ravel(), NaN and infinities as null). lightcurve, bands in ugrizy order, each
sorted by time (stable):
  ZTF: the candidate and its prv_candidates that have a finite magpsf (detections), band by
  fid 1/2/3 = g/r/i, mjd = jd - 2400000.5, mag = magpsf, magErr = sigmapsf;
  Rubin: diaSource, prvDiaSources, and the prvDiaForcedSources of visits without one of those,
  with a finite non-zero psfFlux (nJy): mjd = midpointMjdTai, mag = 31.4 - 2.5 log10|psfFlux|
  (AB), magErr = 2.5 / ln 10 * psfFluxErr / |psfFlux| (null when psfFluxErr is null or NaN).

    /usr/bin/python3 test/support/alert_detail_reference.py IDS PATH...
"""
import gzip
import io
import json
import math
import sys
import warnings

import avro.datafile
import avro.io
from astropy.io import fits

from avro_files import files

ZTF_BANDS = {1: 'g', 2: 'r', 3: 'i'}
BANDS = 'ugrizy'


def stamp(name, data):
    raw = gzip.decompress(data) if data[:2] == b'\x1f\x8b' else data
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        with fits.open(io.BytesIO(raw)) as hdul:
            img = hdul[0].data
    h, w = img.shape
    pixels = [float(v) if math.isfinite(v) else None for v in img.ravel().tolist()]
    return {'name': name, 'width': w, 'height': h, 'pixels': pixels}


def by_band(points):
    """points: (band, mjd, mag, magErr) -> the contract's per-band lists, each sorted by mjd."""
    points.sort(key=lambda p: p[1])
    out = []
    for band in BANDS:
        mine = [p for p in points if p[0] == band]
        if mine:
            out.append({'band': band, 'mjd': [p[1] for p in mine], 'mag': [p[2] for p in mine], 'magErr': [p[3] for p in mine]})
    return out


def ztf_lightcurve(rec):
    points = [c for c in [rec['candidate'], *(rec.get('prv_candidates') or [])] if c is not None]
    points = [c for c in points if c.get('jd') is not None and c.get('fid') in ZTF_BANDS and c.get('magpsf') is not None and math.isfinite(c['magpsf'])]
    return by_band([(ZTF_BANDS[c['fid']], c['jd'] - 2400000.5, c['magpsf'], c['sigmapsf']) for c in points])


def rubin_point(s):
    flux = s.get('psfFlux')
    if s.get('midpointMjdTai') is None or s.get('band') not in BANDS or flux is None or not math.isfinite(flux) or flux == 0:
        return None
    err = s.get('psfFluxErr')
    mag_err = 2.5 / math.log(10) * err / abs(flux) if err is not None and math.isfinite(err) else None
    return (s['band'], s['midpointMjdTai'], 31.4 - 2.5 * math.log10(abs(flux)), mag_err)


def rubin_lightcurve(rec):
    detected = [s for s in [rec['diaSource'], *(rec.get('prvDiaSources') or [])] if s is not None]
    visits = {s.get('visit') for s in detected if s.get('visit') is not None}
    forced = [s for s in rec.get('prvDiaForcedSources') or [] if s is not None and s.get('visit') not in visits]
    return by_band([p for p in map(rubin_point, detected + forced) if p is not None])


def object_id(rec):
    """Rubin's object: diaSource.diaObjectId, else diaObject.diaObjectId, else ssObjectId (as alert_broker_reference.py)."""
    src, obj = rec['diaSource'], rec.get('diaObject') or {}
    return str(next((v for v in (src.get('diaObjectId'), obj.get('diaObjectId'), src.get('ssObjectId')) if v is not None), ''))


def main():
    wanted = set(sys.argv[1].split(','))
    for path in files(sys.argv[2:]):
        with open(path, 'rb') as f:
            for rec in avro.datafile.DataFileReader(f, avro.io.DatumReader()):
                ztf = rec.get('candidate') is not None
                ident = str(rec['candid'] if ztf else rec['diaSourceId'])
                if ident not in wanted:
                    continue
                cutouts = []
                for name, field in (('science', 'cutoutScience'), ('template', 'cutoutTemplate'), ('difference', 'cutoutDifference')):
                    c = rec.get(field)
                    if c is not None:
                        cutouts.append(stamp(name, c['stampData'] if ztf else c))
                lightcurve = ztf_lightcurve(rec) if ztf else rubin_lightcurve(rec)
                print(json.dumps({'id': ident, 'objectId': rec['objectId'] if ztf else object_id(rec), 'cutouts': cutouts, 'lightcurve': lightcurve}))


main()
