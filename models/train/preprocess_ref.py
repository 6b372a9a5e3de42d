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


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--frames", required=True, help=".npy of raw frames [N, H, W, C]")
    p.add_argument("--spec", required=True, help="JSON file: a model card's `preprocessing`")
    p.add_argument("--out", required=True, help=".npy to write, float32 [N, C, h, w]")
    args = p.parse_args(argv)
    torch.set_num_threads(1)  # milliseconds of work, run by tests beside other test files
    with open(args.spec) as f:
        spec = json.load(f)
    try:
        x = preprocess(np.load(args.frames), spec)
    except SpecError as e:
        print(f"preprocess_ref: {args.frames}: {e}", file=sys.stderr)
        return 2
    np.save(args.out, x)
    return 0


if __name__ == "__main__":
    sys.exit(main())
