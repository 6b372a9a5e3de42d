"""Independent reading for the broker test, with Apache Avro's own Python reader (python3-avro):
mode `packets`: one JSON line per alert record under the given paths:
  [id, objectId, survey, drb or null];
mode `topics`: one JSON line per record of the given topic Avro files:
  [file, id, hairtrigger_class, hairtrigger_realbogus, hairtrigger_topic]."""
import json
import os
import sys

import avro.datafile
import avro.io

from avro_files import files



def records(path):
    with open(path, 'rb') as f:
        yield from avro.datafile.DataFileReader(f, avro.io.DatumReader())


def ident(rec):
    if rec.get('candidate') is not None:
        return str(rec['candid']), rec['objectId'], 'ztf', rec['candidate'].get('drb')
    # Rubin's object: diaSource.diaObjectId, else diaObject.diaObjectId (the official samples
    # leave the first null), else the solar-system ssObjectId.
    src, obj = rec['diaSource'], rec.get('diaObject') or {}
    oid = next((v for v in (src.get('diaObjectId'), obj.get('diaObjectId'), src.get('ssObjectId')) if v is not None), '')
    return str(rec['diaSourceId']), str(oid), 'rubin', None


def main():
    mode, paths = sys.argv[1], sys.argv[2:]
    for path in files(paths):
        for rec in records(path):
            i, obj, survey, drb = ident(rec)
            if mode == 'packets':
                print(json.dumps([i, obj, survey, drb]))
            else:
                print(json.dumps([os.path.basename(path), i, rec['hairtrigger_class'], rec['hairtrigger_realbogus'], rec['hairtrigger_topic']]))


main()
