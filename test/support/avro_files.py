"""The .avro files under the given paths (folders recursed), sorted: shared by the tests'
Python references."""
import os


def files(paths):
    out = set()
    for p in paths:
        if os.path.isdir(p):
            for root, _, names in os.walk(p):
                out.update(os.path.join(root, n) for n in names if n.endswith('.avro'))
        else:
            out.add(p)
    return sorted(out)
