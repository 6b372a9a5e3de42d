"""Load and check the preprocessed splits; label-preserving augmentation.

The arrays come from the TypeScript preprocessing and are used as they are:
nothing here rescales or normalises an image.
"""

import json
import os

import numpy as np
import torch

SPLITS = ("train", "val", "test")


class DataError(Exception):
    """The data directory does not hold what the preprocessing should write."""


def _load_split(data_dir, split, meta):
    paths = [os.path.join(data_dir, f"{split}_{kind}.npy") for kind in ("x", "y")]
    for path in paths:
        if not os.path.isfile(path):
            raise DataError(f"missing {path}: run the preprocessing for task "
                            f"{meta['task']} first")
    x, y = np.load(paths[0]), np.load(paths[1])
    shape = tuple(meta["input"]["shape"])
    if x.dtype != np.float32 or x.ndim != 1 + len(shape) or x.shape[1:] != shape:
        raise DataError(f"{paths[0]}: got {x.dtype} {x.shape}, meta.json says "
                        f"float32 [N, {', '.join(map(str, shape))}]")
    if y.dtype != np.int64 or y.shape != (x.shape[0],):
        raise DataError(f"{paths[1]}: got {y.dtype} {y.shape}, want int64 [{x.shape[0]}]")
    n_classes = len(meta["labels"])
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        raise DataError(f"{paths[1]}: labels span [{y.min()}, {y.max()}], "
                        f"want [0, {n_classes - 1}] for {meta['labels']}")
    if not np.isfinite(x).all():
        raise DataError(f"{paths[0]}: holds NaN or Inf")
    expected = meta.get("dataset", {}).get(split)
    if expected is not None and expected != x.shape[0]:
        raise DataError(f"{paths[0]}: {x.shape[0]} rows, meta.json dataset.{split} "
                        f"says {expected}; rerun the preprocessing")
    if x.shape[0] == 0:
        raise DataError(f"{paths[0]}: the {split} split is empty")
    return torch.from_numpy(x), torch.from_numpy(y)


def load(data_dir, task):
    """Return (meta, {split: (x, y)}) as CPU tensors, after checking them."""
    meta_path = os.path.join(data_dir, "meta.json")
    if not os.path.isfile(meta_path):
        raise DataError(f"missing {meta_path}: run the preprocessing for task {task} first")
    with open(meta_path) as f:
        meta = json.load(f)
    for key in ("task", "labels", "input", "preprocessing", "dataset", "source"):
        if key not in meta:
            raise DataError(f"{meta_path}: no '{key}' field")
    if meta["task"] != task:
        raise DataError(f"{meta_path} is for task '{meta['task']}', not '{task}'")
    splits = {s: _load_split(data_dir, s, meta) for s in SPLITS}
    return meta, splits


def load_scores(data_dir, splits, name):
    """Per-row scores in [0, 1] (`{split}_{name}.npy`, float32 [N]) beside loaded splits.

    A task distilled from a score its rows carry (alerts: ZTF's `drb`, `rb`) reads them
    here; returns {split: float32 tensor}. A missing file, a wrong dtype, length or a value
    outside [0, 1] (NaN included) is a DataError naming the file.
    """
    out = {}
    for s in SPLITS:
        path = os.path.join(data_dir, f"{s}_{name}.npy")
        if not os.path.isfile(path):
            raise DataError(f"missing {path}: rerun the dataset export")
        v = np.load(path)
        n = len(splits[s][1])
        if v.dtype != np.float32 or v.shape != (n,):
            raise DataError(f"{path}: got {v.dtype} {v.shape}, want float32 [{n}]")
        if not ((v >= 0) & (v <= 1)).all():
            raise DataError(f"{path}: values outside [0, 1] (or NaN)")
        out[s] = torch.from_numpy(v)
    return out


def class_weights(y, n_classes):
    """Inverse-frequency weights, scaled so a balanced set weighs 1 per sample."""
    counts = torch.bincount(y, minlength=n_classes).double()
    if (counts == 0).any():
        missing = [i for i in range(n_classes) if counts[i] == 0]
        raise DataError(f"class indices {missing} have no training example")
    return (counts.sum() / (n_classes * counts)).float()


# The dihedral group D4: 4 rotations x optional flip. Cells have no
# orientation, so all 8 views keep the label.
VIEWS = 8


def d4(x, view):
    """Apply one of the 8 dihedral views to a square NCHW batch."""
    if view == 0:  # the identity: also the only view of a task without augmentation
        return x
    assert x.shape[-1] == x.shape[-2], "rotations need square images"
    assert 0 <= view < VIEWS
    if view >= 4:
        x = torch.flip(x, dims=(3,))
    return torch.rot90(x, view % 4, dims=(2, 3))


def d4_each(x, views):
    """Apply views[i] to x[i]."""
    # Gather per view, then undo the grouping with one index_select: the
    # deterministic index_put path (out[idx] = ...) is ~50x slower on CPU.
    order = torch.argsort(views, stable=True)
    groups = [d4(x[order[views[order] == v]], v) for v in range(VIEWS)]
    return torch.cat(groups).index_select(0, torch.argsort(order))


def spec_augment(x, gen, time_masks=2, time_width=6, freq_masks=1, freq_width=2):
    """SpecAugment (Park et al. 2019) on a batch of [N, 1, frames, coefficients] features:
    per row, `time_masks` runs of up to `time_width` frames and `freq_masks` runs of up to
    `freq_width` coefficients set to that row's mean over time of each coefficient (the
    features are not normalised, so a zero would be a loud outlier in c0). Draws from `gen`."""
    n, _, frames, coeffs = x.shape
    out = x.clone()
    mean = x.mean(dim=2, keepdim=True).expand_as(x)
    t = torch.arange(frames).view(1, frames, 1)
    f = torch.arange(coeffs).view(1, 1, coeffs)
    mask = torch.zeros(n, frames, coeffs, dtype=torch.bool)
    for count, width, axis, size in ((time_masks, time_width, t, frames), (freq_masks, freq_width, f, coeffs)):
        for _ in range(count):
            w = torch.randint(0, width + 1, (n, 1, 1), generator=gen)
            at = (torch.rand(n, 1, 1, generator=gen) * (size - w + 1)).long()
            mask |= (axis >= at) & (axis < at + w)
    mask = mask.unsqueeze(1)
    out[mask] = mean[mask]
    return out


def batches(n, batch, gen):
    """Shuffled index batches for one epoch, drawn from `gen`."""
    order = torch.randperm(n, generator=gen)
    return [order[i:i + batch] for i in range(0, n, batch)]
