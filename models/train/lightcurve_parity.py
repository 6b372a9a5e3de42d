#!/usr/bin/python3
"""Recompute the light-curve grids that the TypeScript side wrote, and compare.

    /usr/bin/python3 models/train/lightcurve_parity.py FILE.jsonl

FILE.jsonl: a first line {"spec": ...}, then one line per alert
{"source", "jd", "points": {"jd", "band", "flux", "upperLimit"}, "grid"}, where
"grid" is lightCurveGrid's output (flat, [C * steps]). Prints one JSON object:
count, maxAbsDiff, worst (the source of the largest difference) and whether
the spec equals alerts_lightcurve.default_spec(). Used by the parity tests.
"""

import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import alerts_lightcurve  # noqa: E402


def main(path):
    with open(path) as f:
        spec = json.loads(f.readline())["spec"]
        worst, worst_src, count = 0.0, None, 0
        for line in f:
            a = json.loads(line)
            got = alerts_lightcurve.grid(a["points"], a["jd"], spec).reshape(-1)
            want = np.asarray(a["grid"], dtype=np.float32)
            diff = float(np.abs(got.astype(np.float64) - want).max()) if want.size else 0.0
            if diff > worst or worst_src is None:
                worst, worst_src = diff, a["source"]
            count += 1
    print(json.dumps({"count": count, "maxAbsDiff": worst, "worst": worst_src,
                      "specIsDefault": spec == alerts_lightcurve.default_spec()}))


if __name__ == "__main__":
    main(sys.argv[1])
