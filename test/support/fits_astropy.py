"""Reference FITS files and values from astropy, for the TypeScript FITS reader's tests.

    /usr/bin/python3 test/support/fits_astropy.py write DIR
        writes DIR/NAME.fits for every case below, reads each back with astropy and writes
        DIR/NAME.f64 (the primary image as float64 little-endian, row-major, NaN for blanks)
    /usr/bin/python3 test/support/fits_astropy.py read DIR FILE...
        reads each FILE (plain or gzip FITS: astropy detects gzip by its magic) the same way
        into DIR/<basename>.f64

Both print a JSON manifest on stdout: [{name, file, width, height, bitpix, dtype, scaled, bzero}].
`dtype` is what astropy returned (float32 when it scales 8/16-bit data in float32).
Needs python3-astropy and python3-numpy (`make test` installs them).
"""

import json
import os
import sys
import warnings

import numpy as np
from astropy.io import fits

INT_DTYPE = {8: np.uint8, 16: np.int16, 32: np.int32, 64: np.int64}


def random_ints(rng, bitpix, shape):
    info = np.iinfo(INT_DTYPE[bitpix])
    return rng.integers(info.min, info.max, size=shape, dtype=np.int64, endpoint=True)


def random_floats(rng, bitpix, shape):
    d = rng.normal(0, 1e3, shape) * 10.0 ** rng.integers(-30, 30, shape)
    d = d.astype(np.float32 if bitpix == -32 else np.float64)
    flat = d.reshape(-1)
    specials = [0.0, -0.0, np.inf, -np.inf, 1e-40, 1e38, -1.5e-45] + ([1e300, -1e-310] if bitpix == -64 else [])
    flat[: len(specials)] = specials
    return d


def image(rng, bitpix, shape):
    if bitpix > 0:
        return random_ints(rng, bitpix, shape).astype(INT_DTYPE[bitpix])
    return random_floats(rng, bitpix, shape)


def cases(rng):
    """(name, data, extra header cards) for every BITPIX, scaling, blanking and size."""
    out = []
    for bp in (8, 16, 32, 64, -32, -64):
        tag = f"m{-bp}" if bp < 0 else str(bp)
        out.append((f"bitpix{tag}-63", image(rng, bp, (63, 63)), {}))
        out.append((f"bitpix{tag}-scaled", image(rng, bp, (63, 63)), {"BSCALE": 0.1, "BZERO": -5.25}))
        d = image(rng, bp, (63, 63))
        if bp > 0:
            blank = 255 if bp == 8 else int(np.iinfo(INT_DTYPE[bp]).min)
            d.reshape(-1)[::7] = blank
            out.append((f"bitpix{tag}-blank", d, {"BLANK": blank}))
            out.append((f"bitpix{tag}-blank-scaled", d.copy(), {"BLANK": blank, "BSCALE": 2.5, "BZERO": 100.0}))
        else:
            d.reshape(-1)[::5] = np.nan
            out.append((f"bitpix{tag}-nan", d, {}))
    out.append(("uint16-bzero32768", (rng.integers(0, 65535, (63, 63), endpoint=True) - 32768).astype(np.int16), {"BZERO": 32768, "BSCALE": 1}))
    out.append(("int8-bzero-128", rng.integers(0, 255, (63, 63), endpoint=True).astype(np.uint8), {"BZERO": -128}))
    out.append(("rubin-like-30x30", image(rng, -32, (30, 30)), {}))
    out.append(("one-pixel", image(rng, 16, (1, 1)), {}))
    out.append(("wide-17x41", image(rng, -64, (17, 41)), {}))
    out.append(("tall-512x2", image(rng, 8, (512, 2)), {}))
    out.append(("flat-2x512", image(rng, 32, (2, 512)), {}))
    out.append(("long-header", image(rng, -32, (63, 63)), {f"KEY{i:04d}": float(i) * 0.5 for i in range(100)}))
    return out


def write_case(path, data, cards):
    # Cards set after the data: astropy writes the raw array as it is, with these cards.
    hdu = fits.PrimaryHDU(data)
    for k, v in cards.items():
        hdu.header[k] = v
    hdu.writeto(path, overwrite=True)


def dump(path, out_dir, name):
    """Reads the primary image of `path` with astropy and writes it as float64 to out_dir/name.f64."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ZTF's SIMPLE card is not in fixed format
        with fits.open(path) as hdul:
            h = hdul[0].header  # read before .data: astropy rewrites BITPIX, BSCALE, BZERO when it scales
            row = {"name": name, "file": path, "width": int(h["NAXIS1"]), "height": int(h["NAXIS2"]),
                   "bitpix": int(h["BITPIX"]),
                   "scaled": ("BSCALE" in h and h["BSCALE"] != 1) or ("BZERO" in h and h["BZERO"] != 0),
                   "bzero": float(h.get("BZERO", 0))}
            data = hdul[0].data
            row["dtype"] = str(data.dtype)
            np.ascontiguousarray(data, dtype="<f8").tofile(os.path.join(out_dir, name + ".f64"))
    return row


def main():
    cmd, out_dir = sys.argv[1], sys.argv[2]
    rows = []
    if cmd == "write":
        rng = np.random.default_rng(20261206)
        for name, data, cards in cases(rng):
            path = os.path.join(out_dir, name + ".fits")
            write_case(path, data, cards)
            rows.append(dump(path, out_dir, name))
    elif cmd == "read":
        for path in sys.argv[3:]:
            rows.append(dump(path, out_dir, os.path.basename(path)))
    else:
        raise SystemExit(f"unknown command {cmd!r}: write or read")
    json.dump(rows, sys.stdout)


if __name__ == "__main__":
    main()
