"""An independent reference of the model-input preprocessing, written with PyTorch.

The TypeScript preprocessing (host/src/preprocess/image.ts) is the one that writes the
training tensors and runs online. This file recomputes it from the card's `preprocessing`
spec with torch's own bilinear resize, sharing no code with it, so a test can catch
train/serve skew that comparing the TypeScript code with itself cannot:

    raw frames [N, H, W, C] (uint8 or float32, HWC as the camera delivers them)
      -> CHW -> F.interpolate(bilinear, align_corners=False, antialias=False) to input h x w
      -> value * scale -> (x - mean[c]) / std[c] -> float32 [N, C, h, w]

Computed in float64 and rounded once to float32 at the end.

    /usr/bin/python3 models/train/preprocess_ref.py --frames raw.npy --spec spec.json --out x.npy
    /usr/bin/python3 models/train/preprocess_ref.py --jobs jobs.json   # [{frames, spec, out}]
"""

import argparse
import json
import sys

import numpy as np
import torch
import torch.nn.functional as F


class SpecError(Exception):
    """The frames do not fit the spec, or the spec is not one this reference knows."""


def check(frames, spec):
    """Raise SpecError unless `frames` are [N, H, W, C] of the spec's frame shape and dtype."""
    if spec.get("resize") != "bilinear":
        raise SpecError(f"resize {spec.get('resize')!r}: only 'bilinear' is known")
    shape, dtype = tuple(spec["frame"]["shape"]), spec["frame"]["dtype"]
    if frames.ndim != 4 or frames.shape[1:] != shape or frames.dtype != np.dtype(dtype):
        raise SpecError(f"frames are {frames.dtype} {list(frames.shape)}, the spec says "
                        f"{dtype} [N, {', '.join(map(str, shape))}]")
    channels = shape[2]
    if spec["input"]["shape"][0] != channels or len(spec["mean"]) != channels \
            or len(spec["std"]) != channels:
        raise SpecError(f"input channels, mean and std must all have {channels} entries")


def preprocess(frames, spec):
    """Model input (float32 [N, C, h, w]) of raw HWC frames, per the card's spec."""
    check(frames, spec)
    _, h, w = spec["input"]["shape"]
    x = torch.from_numpy(np.ascontiguousarray(frames)).to(torch.float64).permute(0, 3, 1, 2)
    x = F.interpolate(x, size=(h, w), mode="bilinear", align_corners=False, antialias=False)
    mean = torch.tensor(spec["mean"], dtype=torch.float64).view(1, -1, 1, 1)
    std = torch.tensor(spec["std"], dtype=torch.float64).view(1, -1, 1, 1)
    x = (x * spec["scale"] - mean) / std
    return x.to(torch.float32).contiguous().numpy()


def run_job(frames_path, spec, out_path):
    """Preprocess one .npy of frames into `out_path`; return an error line or None."""
    try:
        np.save(out_path, preprocess(np.load(frames_path), spec))
    except SpecError as e:
        return f"preprocess_ref: {frames_path}: {e}"
    return None


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--frames", help=".npy of raw frames [N, H, W, C]")
    p.add_argument("--spec", help="JSON file: a model card's `preprocessing`")
    p.add_argument("--out", help=".npy to write, float32 [N, C, h, w]")
    p.add_argument("--jobs", help="JSON file: a list of {frames, spec (the object), out}, "
                                  "run in one process (torch loads once)")
    args = p.parse_args(argv)
    if (args.jobs is None) == (args.frames is None or args.spec is None or args.out is None):
        p.error("give either --jobs, or all of --frames, --spec and --out")
    torch.set_num_threads(1)  # milliseconds of work, run by tests beside other test files
    if args.jobs is not None:
        with open(args.jobs) as f:
            jobs = [(j["frames"], j["spec"], j["out"]) for j in json.load(f)]
    else:
        with open(args.spec) as f:
            jobs = [(args.frames, json.load(f), args.out)]
    errors = [e for e in (run_job(*j) for j in jobs) if e is not None]
    for e in errors:
        print(e, file=sys.stderr)
    return 2 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
