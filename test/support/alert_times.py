"""Independent reading of alert files for the tests: Apache Avro's own Python implementation
(Debian python3-avro), not avsc. Prints one JSON line per record, in observation order
(jd, then file path, then the record's index in its file):
[jd, path, index, id, objectId]. Arguments: files and folders (recursed for *.avro)."""
import json
import os
import sys

import avro.datafile
import avro.io

from avro_files import files



def main():
    rows = []
    for path in files(sys.argv[1:]):
        with open(path, 'rb') as f:
            for i, rec in enumerate(avro.datafile.DataFileReader(f, avro.io.DatumReader())):
                if rec.get('candidate') is not None:
                    c = rec['candidate']
                    rows.append((c['jd'], path, i, str(rec['candid']), rec['objectId']))
                else:
                    s = rec['diaSource']
                    rows.append((s['midpointMjdTai'] + 2400000.5, path, i, str(rec['diaSourceId']), str(s['diaObjectId'])))
    rows.sort(key=lambda r: (r[0], r[1], r[2]))
    for r in rows:
        print(json.dumps(r))


main()
