"""Independent reading of alert packets for the trigger detail test, with Apache Avro's own
Python reader (python3-avro) and astropy: for each ZTF record under the given paths whose
candid is one of CANDIDS (comma-separated), one JSON line
  {"candid", "objectId", "cutouts": [{"name", "width", "height", "pixels"}],
   "lightcurve": [{"band", "mjd", "mag", "magErr"}]}
cutouts: science, template, difference as astropy reads the gzip FITS stamp (data.ravel(),
NaN and infinities as null); lightcurve: the candidate and its prv_candidates that have a
finite magpsf (detections), by band g/r/i (fid 1/2/3) in that order, sorted by jd (stable),
mjd = jd - 2400000.5, mag = magpsf, magErr = sigmapsf.

    /usr/bin/python3 test/support/alert_detail_reference.py CANDIDS PATH...
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

BANDS = {1: 'g', 2: 'r', 3: 'i'}


def stamp(name, data):
    raw = gzip.decompress(data) if data[:2] == b'\x1f\x8b' else data
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        with fits.open(io.BytesIO(raw)) as hdul:
            img = hdul[0].data
    h, w = img.shape
    pixels = [float(v) if math.isfinite(v) else None for v in img.ravel().tolist()]
    return {'name': name, 'width': w, 'height': h, 'pixels': pixels}


def lightcurve(rec):
    points = [c for c in [rec['candidate'], *(rec.get('prv_candidates') or [])] if c is not None]
    points = [c for c in points if c.get('jd') is not None and c.get('fid') in BANDS and c.get('magpsf') is not None and math.isfinite(c['magpsf'])]
    points.sort(key=lambda c: c['jd'])
    out = []
    for fid, band in BANDS.items():
        mine = [c for c in points if c['fid'] == fid]
        if mine:
            out.append({'band': band, 'mjd': [c['jd'] - 2400000.5 for c in mine], 'mag': [c['magpsf'] for c in mine], 'magErr': [c['sigmapsf'] for c in mine]})
    return out


def main():
    wanted = set(sys.argv[1].split(','))
    for path in files(sys.argv[2:]):
        with open(path, 'rb') as f:
            for rec in avro.datafile.DataFileReader(f, avro.io.DatumReader()):
                if str(rec['candid']) not in wanted:
                    continue
                cutouts = []
                for name, field in (('science', 'cutoutScience'), ('template', 'cutoutTemplate'), ('difference', 'cutoutDifference')):
                    c = rec.get(field)
                    if c is not None:
                        cutouts.append(stamp(name, c['stampData']))
                print(json.dumps({'candid': str(rec['candid']), 'objectId': rec['objectId'], 'cutouts': cutouts, 'lightcurve': lightcurve(rec)}))


main()
