"""The cutout triplet preprocessing of the alerts modality, in numpy, for training.

The twin of host/src/modalities/alerts/cutouts.ts (`cutoutTriplet`), from decoded stamps
(float arrays) instead of FITS bytes: NaN and infinite pixels -> 0; centre crop or zero-pad
to `stamp` (63); centre crop to `size` (S); each stamp divided by the L2 (Frobenius) norm of
its S x S crop (an all-zero stamp stays zero), as ZTF's braai normalises its 63 x 63 stamps.
Centre offsets: a crop of n to m keeps rows/columns from (n - m) // 2; a pad of n to m
puts the stamp at (m - n) // 2. test/integration/alerts-cutouts-python.test.ts checks it
against the TypeScript; test_alerts_cutouts.py against by-hand values.

Needs numpy only.
"""

import numpy as np


def centre(a, m):
    """Centre crop or zero-pad a 2-D array to m x m."""
    out = np.zeros((m, m), np.float64)
    h, w = a.shape
    # (source start, destination start, length) along each axis
    ys = ((h - m) // 2, 0, m) if h >= m else (0, (m - h) // 2, h)
    xs = ((w - m) // 2, 0, m) if w >= m else (0, (m - w) // 2, w)
    out[ys[1]:ys[1] + ys[2], xs[1]:xs[1] + xs[2]] = a[ys[0]:ys[0] + ys[2], xs[0]:xs[0] + xs[2]]
    return out


def crop_normalise(stamp, stamp_side=63, size=63):
    """One decoded stamp (2-D, any size) -> float32 [size, size] with unit L2 norm (or all zero)."""
    if not 1 <= size <= stamp_side:
        raise ValueError(f"size {size} must be 1 to stamp {stamp_side}")
    a = np.asarray(stamp, np.float64)
    a = np.where(np.isfinite(a), a, 0.0)
    x = centre(centre(a, stamp_side), size)
    norm = np.sqrt(np.sum(x * x))
    return (x / norm if norm > 0 else x).astype(np.float32)


def cutout_triplet(science, template, difference, stamp_side=63, size=63):
    """The model input: float32 [3, size, size] (science, template, difference)."""
    return np.stack([crop_normalise(s, stamp_side, size) for s in (science, template, difference)])
