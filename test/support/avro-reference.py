# Apache Avro's own Python reader (Debian python3-avro): an independent decoding of alert
# container files for the tests. Prints, per file, its records as JSON with ints as decimal
# strings (longs keep every digit), non-finite floats as their repr, bytes as length + SHA-256.
import sys, json, hashlib, math, datetime
from avro.datafile import DataFileReader
from avro.io import DatumReader
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
def norm(v):
    if isinstance(v, bool) or v is None: return v
    if isinstance(v, int): return str(v)
    if isinstance(v, float): return v if math.isfinite(v) else repr(v)
    if isinstance(v, bytes): return {'bytes': len(v), 'sha256': hashlib.sha256(v).hexdigest()}
    if isinstance(v, str): return v
    if isinstance(v, datetime.datetime): return str((v - EPOCH) // datetime.timedelta(microseconds=1))
    if isinstance(v, dict): return {k: norm(x) for k, x in v.items()}
    if isinstance(v, list): return [norm(x) for x in v]
    raise TypeError(type(v))
out = []
for f in sys.argv[1:]:
    with open(f, 'rb') as fh:
        out.append([norm(x) for x in DataFileReader(fh, DatumReader())])
print(json.dumps(out))
