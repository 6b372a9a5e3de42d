"""The light-curve grid of an alert, in numpy: the Python twin of
host/src/modalities/alerts/lightcurve.ts (`lightCurveGrid`).

The definition (bins, channels, scale) is written out in that file; the spec
dict is the `preprocessing` object of models/zoo/alerts-transient/card.json.
This version is vectorised (np.add.at, np.minimum.at) and computes in float64,
while the TypeScript one loops and accumulates in float32: the parity tests
hold them to 1e-6.
"""

import numpy as np

BANDS = ("u", "g", "r", "i", "z", "y")  # index = band code of LightCurvePoints.band
CHANNELS = ("flux", "detected", "upperLimit")


def grid(points, jd, spec):
    """Return the float32 [len(bands) * 3, steps] grid of `points` at alert time `jd`.

    `points` maps jd (float64), band (int codes into BANDS), flux (float32,
    microjansky) and upperLimit (0/1) to equal-length arrays.
    """
    steps, step_days, cap = spec["steps"], spec["stepDays"], spec["upperLimitMax"]
    n_bands = len(spec["bands"])
    row_of = np.full(len(BANDS), -1, dtype=np.int64)
    for row, name in enumerate(spec["bands"]):
        row_of[BANDS.index(name)] = row
    t = np.asarray(points["jd"], dtype=np.float64)
    band = np.asarray(points["band"], dtype=np.int64)
    flux = np.asarray(points["flux"], dtype=np.float32).astype(np.float64)
    upper = np.asarray(points["upperLimit"], dtype=np.int64) != 0

    age = jd - t
    with np.errstate(invalid="ignore"):
        back = np.floor(np.where(age >= 0, age, -1.0) / step_days)
    rows = row_of[band]
    keep = (age >= 0) & (back < steps) & (rows >= 0) & np.isfinite(flux)
    bins = (steps - 1 - back).astype(np.int64)

    det = keep & ~upper
    scale = float(np.abs(flux[det]).max()) if det.any() else 0.0

    out = np.zeros((n_bands, 3, steps), dtype=np.float64)
    counts = np.zeros((n_bands, steps), dtype=np.float64)
    if scale > 0:
        np.add.at(out[:, 0, :], (rows[det], bins[det]), flux[det] / scale)
    np.add.at(counts, (rows[det], bins[det]), 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        out[:, 0, :] = np.where(counts > 0, out[:, 0, :] / np.maximum(counts, 1), 0.0)
    out[:, 1, :] = counts > 0

    lim = keep & upper & (flux > 0)
    values = np.minimum(flux[lim] / scale, cap) if scale > 0 else np.full(lim.sum(), cap)
    deepest = np.full((n_bands, steps), np.inf)
    np.minimum.at(deepest, (rows[lim], bins[lim]), values)
    out[:, 2, :] = np.where(np.isfinite(deepest), deepest, 0.0)
    return out.reshape(n_bands * 3, steps).astype(np.float32)


def default_spec():
    """The spec of LIGHTCURVE_DEFAULT_SPEC in lightcurve.ts (tests compare the two)."""
    return {"kind": "lightcurve", "frame": {"shape": None, "dtype": "uint8"},
            "bands": list(BANDS), "steps": 100, "stepDays": 1, "channels": list(CHANNELS),
            "upperLimitMax": 4, "input": {"shape": [len(BANDS) * len(CHANNELS), 100]}}
