#!/usr/bin/python3
"""Train a teacher, distil a fixed-point student, export both to ONNX.

    /usr/bin/python3 models/train/distill.py --task cells-bccd \
        --data models/data/cells-bccd --out models/zoo/cells-bccd

Writes OUTDIR/teacher.onnx, OUTDIR/student.onnx and OUTDIR/card.json and
nothing else. See README.md beside this file for the recipe.
"""

import argparse
import copy
import json
import math
import os
import random
import sys
import time

# Must precede `import torch`: with the default active wait, two OpenMP
# threads on two cores that another process also uses ran 4x slower than
# one thread; passive waiting removes that (measured, see README.md).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import data  # noqa: E402
import firmware_types  # noqa: E402
import matchboxnet_teacher  # noqa: E402
import nets  # noqa: E402
import onnx_check  # noqa: E402
import scores as score_kd  # noqa: E402
import tasks  # noqa: E402
import train  # noqa: E402
from fixedpoint import FixedPoint, fixed_forward, on_grid, snap_  # noqa: E402

OPSET = 13
# Torch threads: the task's "threads" (tasks.py; the summation order, so a recipe's figures hold
# only at its thread count), else 2; HT_TORCH_THREADS overrides (1 where the process is pinned to
# one core, since two threads on one core spin against each other).
THREADS = int(os.environ["HT_TORCH_THREADS"]) if os.environ.get("HT_TORCH_THREADS") else None
ONNX_CHECK_ROWS = 256  # test images run through the numpy ONNX interpreter
# The rows the student may be fitted on (--fit): the training split alone, or (the final fit, once
# the recipe is chosen on validation) the training and validation splits together: the validation
# rows and the augmented copies of its real clips (`val_augmented_*`, keywords_data.py), the
# teacher's and the extra teacher's targets on them as on the training rows.
FITS = {"train": ("train",), "train+validation": ("train", "val", "val_augmented")}


class UsageError(Exception):
    """A command-line option that cannot work for this task."""


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--task", required=True, choices=sorted(tasks.TASKS))
    p.add_argument("--data", required=True, help="directory with meta.json and *_x/_y.npy")
    p.add_argument("--out", required=True, help="directory for the ONNX files and card.json")
    p.add_argument("--seed", type=int, help="default: the task's \"seed\" (tasks.py), else 0")
    p.add_argument("--temperature", type=float, help="KD temperature (default: per task, 4)")
    p.add_argument("--alpha", type=float, default=0.7, help="weight of the KD term, 0..1")
    p.add_argument("--teacher-epochs", type=int, help="default: per task")
    p.add_argument("--student-epochs", type=int, help="default: per task")
    p.add_argument("--qat-epochs", type=int, help="default: per task; 0 = only snap weights")
    p.add_argument("--class-weight", action="append", default=[], metavar="LABEL=X",
                   help="multiply LABEL's weight in the student's hard-label cross entropy by X (repeatable; "
                   "default: the task's \"ce_class_scale\")")
    p.add_argument("--student-ema", type=float, metavar="DECAY",
                   help="validate and keep an exponential moving average of the student's weights and batch-norm "
                   "buffers, DECAY per step (default: the task's \"student_ema\", else none; 0: none)")
    p.add_argument("--student-weight-decay", type=float, metavar="X",
                   help="AdamW weight decay in the student stage only (default: the task's "
                   "\"student_weight_decay\", else 0; the teacher and QAT stages keep theirs)")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--frac-bits", type=int, default=10)
    p.add_argument("--int-bits", type=int, default=6, help="integer bits including sign")
    p.add_argument("--student-widths", help="conv widths, e.g. 8,16 (default: per task)")
    p.add_argument("--teacher-from", help="a zoo folder of an earlier run of this task on the same data: its "
                   "teacher.onnx is loaded (batch norms folded in) instead of training a teacher")
    p.add_argument("--fit", choices=sorted(FITS), default="train",
                   help="rows the student is fitted on; train+validation: the final fit, the student's epoch "
                   "fixed (--fit-epoch) as no validation is left to choose it; the teacher stays on train")
    p.add_argument("--fit-epoch", type=int, help="with --fit train+validation: the student epoch kept, of the "
                   "task's schedule (default: tasks.py 'fit_student_epoch', the best epoch fitted on train)")
    return p.parse_args(argv)


def resolve(args):
    """Merge options over the task's defaults; raise UsageError on bad values."""
    cfg = copy.deepcopy(tasks.TASKS[args.task])
    if args.seed is None:
        args.seed = cfg.get("seed", 0)
    if args.temperature is None:
        args.temperature = cfg.get("temperature", 4.0)
    if cfg.get("soft_targets") and args.teacher_epochs is not None:
        raise UsageError(f"--teacher-epochs: {args.task} has no teacher network "
                         f"(it is distilled from the rows' {cfg['soft_targets']})")
    for stage in ("teacher", "student", "qat"):
        value = getattr(args, f"{stage}_epochs")
        if value is not None:
            cfg["epochs"][stage] = value
    if cfg["epochs"].get("teacher", 1) < 1 or cfg["epochs"]["student"] < 1 or cfg["epochs"]["qat"] < 0:
        raise UsageError(f"epochs {cfg['epochs']}: teacher and student need >= 1, qat >= 0")
    if args.fit == "train" and args.fit_epoch is not None:
        raise UsageError("--fit-epoch: only with --fit train+validation (on train, validation chooses the epoch)")
    if args.fit != "train":
        if cfg.get("soft_targets") or cfg["epochs"]["qat"] > 0:
            raise UsageError(f"--fit {args.fit}: only for a student distilled from a teacher network without QAT "
                             "(QAT's epoch would need validation too)")
        epoch = args.fit_epoch if args.fit_epoch is not None else cfg.get("fit_student_epoch")
        if epoch is None or not 1 <= epoch <= cfg["epochs"]["student"]:
            raise UsageError(f"--fit {args.fit}: student epoch {epoch}, want 1..{cfg['epochs']['student']} "
                             "(--fit-epoch, or tasks.py 'fit_student_epoch')")
        args.fit_epoch = epoch
    if args.student_widths:
        try:
            cfg["student_widths"] = tuple(int(w) for w in args.student_widths.split(","))
        except ValueError:
            raise UsageError(f"--student-widths {args.student_widths!r}: want e.g. 8,16")
    scale = dict(cfg.get("ce_class_scale", {}))
    for item in args.class_weight:
        label, sep, value = item.partition("=")
        try:
            scale[label] = float(value) if sep and label else None
        except ValueError:
            scale[label] = None
        if scale[label] is None or not scale[label] > 0:
            raise UsageError(f"--class-weight {item!r}: want LABEL=X with X > 0, e.g. unknown=2")
    cfg["ce_class_scale"] = scale
    if args.student_ema is not None:
        cfg["student_ema"] = args.student_ema or None
    if cfg.get("student_ema") is not None and not 0.0 < cfg["student_ema"] < 1.0:
        raise UsageError(f"--student-ema {cfg['student_ema']}: want a decay per step, 0 < DECAY < 1 (0: none)")
    if args.student_weight_decay is not None:
        cfg["student_weight_decay"] = args.student_weight_decay
    wd = cfg.get("student_weight_decay", 0.0)
    if not (isinstance(wd, (int, float)) and math.isfinite(wd) and 0.0 <= wd < 1.0):
        raise UsageError(f"--student-weight-decay {wd}: want a finite decay, 0 <= X < 1 (0: none)")
    if not 0.0 <= args.alpha <= 1.0 or args.temperature <= 0 or args.batch < 1:
        raise UsageError(f"alpha {args.alpha} (0..1), temperature {args.temperature} (> 0), "
                         f"batch {args.batch} (>= 1)")
    if args.int_bits < 1 or args.frac_bits < 0 or args.int_bits + args.frac_bits > 24:
        raise UsageError(f"ap_fixed<{args.int_bits + args.frac_bits},{args.int_bits}>: "
                         "want int bits >= 1 and at most 24 bits in all")
    return cfg


def scaled_class_weights(weights, labels, scale):
    """The student's cross-entropy class weights (inverse frequency) times the task's
    per-label factors ("ce_class_scale", --class-weight); a label not in `labels` is an error."""
    unknown = sorted(set(scale) - set(labels))
    if unknown:
        raise UsageError(f"ce_class_scale / --class-weight: labels {unknown} are not among {labels}")
    out = weights.clone()
    for label, factor in scale.items():
        out[labels.index(label)] *= factor
    return out


def seed_everything(seed, threads=2):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(threads)


def torch_threads(cfg):
    """The run's torch threads: HT_TORCH_THREADS, else the task's "threads", else 2."""
    return THREADS if THREADS is not None else cfg.get("threads", 2)


def stage_seed(seed, stage):
    """Each stage seeds its own RNGs, so changing one stage's epochs leaves
    the others' random streams alone."""
    return seed * 1000 + stage


def build(cfg, meta, seed):
    n_classes = len(meta["labels"])
    if cfg.get("soft_targets"):  # distilled from scores the rows carry: no teacher network
        torch.manual_seed(stage_seed(seed, 12))
        return None, nets.student(cfg["input"], cfg["student_widths"], n_classes)
    sequence = cfg.get("model") == "sequence"
    torch.manual_seed(stage_seed(seed, 11))
    if sequence:
        t = cfg["teacher"]
        teacher = nets.SequenceTransformer(cfg["input"], t["d"], t["layers"], t["heads"], t["ff"],
                                           n_classes, cfg["teacher_dropout"], t["patch"], t["stem"])
    else:
        teacher = nets.teacher(cfg["input"], cfg["teacher_widths"], n_classes, cfg["teacher_dropout"])
    torch.manual_seed(stage_seed(seed, 12))
    if sequence:
        student = nets.student1d(cfg["input"], cfg["student_widths"], n_classes, cfg["student_kernel"])
    elif cfg.get("model") == "ds_cnn":
        student = nets.ds_cnn(cfg["input"], cfg["student_widths"][0], cfg["student_blocks"], n_classes)
    else:
        student = nets.student(cfg["input"], cfg["student_widths"], n_classes)
    ratio = nets.params(teacher) / nets.params(student)
    ratio_min = cfg.get("teacher_params_ratio_min", tasks.TEACHER_PARAMS_RATIO_MIN)
    if ratio < ratio_min:
        raise UsageError(f"teacher has {ratio:.0f}x the student's params, want >= "
                         f"{ratio_min:.0f}x: narrow --student-widths")
    return teacher, student


def n_views(cfg):
    """Views the training draws from: the 8 of D4 for images, 1 (none) otherwise."""
    return data.VIEWS if cfg.get("augment", "d4") == "d4" else 1


def batch_augment(cfg, stage):
    """data.spec_augment for the stages a task lists in `spec_augment`, else None."""
    return data.spec_augment if stage in cfg.get("spec_augment", ()) else None


def print_plan(args, cfg, meta, splits, teacher, student, weights, fp):
    sizes = {s: len(splits[s][1]) for s in data.SPLITS}
    counts = torch.bincount(splits["train"][1], minlength=len(meta["labels"])).tolist()
    print(f"plan: task {args.task}, seed {args.seed}, {torch_threads(cfg)} threads, splits {sizes}")
    print(f"  train class counts {dict(zip(meta['labels'], counts))}, "
          f"CE weights {[round(w, 3) for w in weights.tolist()]}")
    if teacher is not None:
        print(f"  teacher {nets.params(teacher):,} params: {nets.describe(teacher)}")
    else:
        print(f"  teacher: the rows' {cfg['soft_targets']} scores (no network)")
    print(f"  student {nets.params(student):,} params: {nets.describe(student)}")
    print(f"  epochs {cfg['epochs']}, lr {cfg['lr']}, batch {args.batch}, "
          f"T {args.temperature}, alpha {args.alpha}, {fp.name} TRN, SAT in QAT", flush=True)


def train_teacher(args, cfg, teacher, splits, labels, weights):
    gen = torch.Generator().manual_seed(stage_seed(args.seed, 1))
    torch.manual_seed(stage_seed(args.seed, 21))  # dropout
    y = splits["train"][1]

    def loss_fn(out, idx, views):
        return F.cross_entropy(out, y[idx], weight=weights)

    return train.fit("teacher", teacher, teacher, loss_fn, splits["train"][0], splits["val"],
                     labels, cfg["epochs"]["teacher"], cfg["lr"]["teacher"],
                     cfg.get("teacher_batch", args.batch), gen,
                     weight_decay=cfg["teacher_weight_decay"], n_views=n_views(cfg),
                     batch_augment=batch_augment(cfg, "teacher"))


def teacher_view_logits(teacher, x, views=data.VIEWS):
    """Teacher logits for all `views` D4 views of the training set, computed once.

    The student then trains on random views with exact soft targets, at the
    cost of 8 teacher inference passes instead of one per student epoch.
    """
    start = time.time()
    out = torch.stack([train.logits_of(teacher, x, v) for v in range(views)])
    print(f"[kd] teacher logits for {views} views x {len(x)} inputs "
          f"{time.time() - start:.1f}s", flush=True)
    return out


def teacher_from_onnx(teacher, path):
    """An exported teacher (this script's teacher.onnx: each Conv with its batch norm folded in)
    loaded back into the task's teacher module: each Conv's weight, its bias as the batch norm's
    shift (scale 1, mean 0, variance 1 - eps: the identity), the Gemm as the Linear. Exporting it
    again gives the same graph. Only Conv-BN teachers (the VGG-style `nets.teacher`)."""
    g = onnx_check.read(path)
    init = {k: torch.from_numpy(np.array(v, dtype=np.float32)) for k, v in g["initializers"].items()}
    convs = [n for n in g["nodes"] if n["op"] == "Conv"]
    gemms = [n for n in g["nodes"] if n["op"] == "Gemm"]
    conv_m = [m for m in teacher.modules() if isinstance(m, torch.nn.Conv2d)]
    bn_m = [m for m in teacher.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    lin_m = [m for m in teacher.modules() if isinstance(m, torch.nn.Linear)]
    if len(convs) != len(conv_m) or len(bn_m) != len(conv_m) or len(gemms) != 1 or len(lin_m) != 1:
        raise data.DataError(f"{path}: {len(convs)} Conv and {len(gemms)} Gemm nodes; the task's teacher has "
                             f"{len(conv_m)} convs, {len(bn_m)} batch norms, {len(lin_m)} linear layers")
    pairs = [(c.weight, init[n["inputs"][1]]) for n, c in zip(convs, conv_m)]
    pairs += [(b.bias, init[n["inputs"][2]]) for n, b in zip(convs, bn_m)]
    pairs += [(lin_m[0].weight, init[gemms[0]["inputs"][1]]), (lin_m[0].bias, init[gemms[0]["inputs"][2]])]
    for dst, src in pairs:
        if tuple(dst.shape) != tuple(src.shape):
            raise data.DataError(f"{path}: a tensor of shape {tuple(src.shape)} where the task's teacher has "
                                 f"{tuple(dst.shape)} (another teacher_widths?)")
    with torch.no_grad():
        for dst, src in pairs:
            dst.copy_(src)
        for b in bn_m:
            b.weight.fill_(1.0)
            b.running_mean.zero_()
            b.running_var.fill_(1.0 - b.eps)
    return teacher.eval()


def load_teacher(args, teacher):
    """`--teacher-from`: the teacher of an earlier run, and its best epoch (from its card)."""
    path = os.path.join(args.teacher_from, "teacher.onnx")
    if not os.path.isfile(path):
        raise UsageError(f"--teacher-from {args.teacher_from}: no teacher.onnx there")
    teacher = teacher_from_onnx(teacher, path)
    best = None
    card_path = os.path.join(args.teacher_from, "card.json")
    if os.path.isfile(card_path):
        with open(card_path) as f:
            best = json.load(f).get("distillation", {}).get("bestEpoch", {}).get("teacher")
    print(f"[teacher] loaded from {path} (best epoch {best})", flush=True)
    return teacher, best


def split_file(data_dir, split, name):
    """`{split}_{name}` beside the data: a file named for the training rows (`train_...`) stands for
    its twin of every split fitted on; a missing file is a DataError naming it."""
    path = os.path.join(data_dir, f"{split}_{name}")
    if not os.path.isfile(path):
        raise data.DataError(f"missing {path}: rerun keywords_data.py and keywords_features.py"
                             + (" --matchboxnet" if "matchboxnet" in name else ""))
    return np.load(path)


def fit_arrays(data_dir, fit_splits, name):
    """`{split}_{name}` of each split fitted on, concatenated in order."""
    return np.concatenate([split_file(data_dir, s, name) for s in fit_splits])


def fit_rows(args, splits):
    """The rows the student is fitted on (--fit): the training split, or with the validation split
    and its real clips' augmented copies after it (their features `val_augmented_x/_y.npy`)."""
    names = FITS[args.fit]
    if names == ("train",):
        return splits["train"]
    extra = [splits["val"]]
    for s in names[2:]:
        x, y = split_file(args.data, s, "x.npy"), split_file(args.data, s, "y.npy")
        if x.dtype != np.float32 or x.shape[1:] != tuple(splits["train"][0].shape[1:]) or y.shape != x.shape[:1]:
            raise data.DataError(f"{args.data}/{s}_x.npy: {x.dtype} {x.shape} (and y {y.shape}), want float32 "
                                 f"[N, {', '.join(str(d) for d in splits['train'][0].shape[1:])}]")
        extra.append((torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))))
    x = torch.cat([splits["train"][0], *(e[0] for e in extra)])
    y = torch.cat([splits["train"][1], *(e[1] for e in extra)])
    print(f"[fit] {' + '.join(names)}: {len(y)} rows ({len(splits['train'][1])} + "
          f"{' + '.join(str(len(e[1])) for e in extra)})", flush=True)
    return x, y


def extra_teacher_rows(data_dir, which="real", fit_splits=("train",)):
    """The rows fitted on that an extra teacher labels (tasks.py `extra_teacher` "rows"): "real", the
    real and augmented real rows (`{split}_synthetic.npy` != 1); "clean", those of them without a
    mixed-in background (`{split}_background.npy` == 0: the clips as recorded and the augmented
    copies left without noise or music), where MatchboxNet heard what it was trained on."""
    kinds = fit_arrays(data_dir, fit_splits, "synthetic.npy")
    if which == "real":
        return torch.from_numpy(kinds != 1)
    if which != "clean":
        raise UsageError(f"extra_teacher rows {which!r}: want 'real' or 'clean'")
    background = fit_arrays(data_dir, fit_splits, "background.npy")
    if background.shape != kinds.shape:
        raise data.DataError(f"{data_dir}: {background.shape[0]} background rows, {kinds.shape[0]} synthetic codes")
    return torch.from_numpy((kinds != 1) & (background == 0))


def extra_teacher_logits(args, extra, t_logits):
    """The CNN teacher's targets mixed with a second teacher's probabilities on the real and
    augmented real training rows, or only the clean ones (tasks.py `extra_teacher`: the `{file}`
    beside the data, "rows")."""
    fit_splits = FITS[getattr(args, "fit", "train")]
    if not extra["file"].startswith("train_"):
        raise UsageError(f"extra_teacher file {extra['file']!r}: want train_NAME.npy (its twins: val_NAME.npy, ...)")
    path = os.path.join(args.data, " + ".join(f"{s}_{extra['file'][6:]}" for s in fit_splits))
    probs = torch.from_numpy(fit_arrays(args.data, fit_splits, extra["file"][6:]))
    rows = extra_teacher_rows(args.data, extra.get("rows", "real"), fit_splits)
    if probs.shape != t_logits.shape[1:] or rows.shape != probs.shape[:1]:
        raise data.DataError(f"{path}: {tuple(probs.shape)}, want {tuple(t_logits.shape[1:])}")
    print(f"[kd] {extra['file']} mixed at weight {extra['weight']} on {int(rows.sum())} "
          f"{extra.get('rows', 'real')} rows", flush=True)
    return matchboxnet_teacher.mix_logits(t_logits, probs, rows, extra["weight"], args.temperature)


def extra_teacher_note(cfg):
    """The card's words for the extra teacher's share of the targets ("" without one)."""
    extra = cfg.get("extra_teacher")
    rows = ("the real and augmented real rows" if extra.get("rows", "real") == "real"
            else "the real rows and augmented copies without a background") if extra else ""
    return (f"; on {rows} mixed with {extra['file']} at weight {extra['weight']} "
            "(MatchboxNet, training only)") if extra else ""


def train_student(args, cfg, student, forward, splits, labels, weights, t_logits, stage):
    """KD (stage 'student') or QAT (stage 'qat', with `forward` fake-quantised)."""
    gen = torch.Generator().manual_seed(stage_seed(args.seed, 2 if stage == "student" else 3))
    y = splits["train"][1]

    def loss_fn(out, idx, views):
        return train.kd_loss(out, t_logits[views, idx], y[idx], weights,
                             args.temperature, args.alpha)

    return train.fit(stage, student, forward, loss_fn, splits["train"][0], splits["val"],
                     labels, cfg["epochs"][stage], cfg["lr"][stage], args.batch, gen,
                     weight_decay=cfg.get("student_weight_decay", 0.0) if stage == "student" else 0.0,
                     n_views=n_views(cfg), batch_augment=batch_augment(cfg, stage),
                     keep_epoch=getattr(args, "fit_epoch", None) if stage == "student" else None,
                     ema_decay=cfg.get("student_ema") if stage == "student" else None)


def evaluate(teacher, student, fp, test, labels, types=None):
    """Test metrics for the teacher, the snapped float student (what the
    ONNX computes) and the fixed-point student emulated in float64 (with the
    firmware's `types`, firmware_types.layer_types, where the card sets them)."""
    x, y = test
    t_pred = train.logits_of(teacher, x).argmax(1)
    s_pred = train.logits_of(student, x).argmax(1)
    exact = copy.deepcopy(student).double()
    ranges = {}
    f_pred = train.logits_of(lambda b: fixed_forward(exact, b.double(), fp, ranges, types), x).argmax(1)
    return {"teacher": train.metrics(t_pred, y, labels),
            "student": train.metrics(s_pred, y, labels),
            "fixed": train.metrics(f_pred, y, labels),
            "agreement": float((t_pred == s_pred).float().mean()),
            "agreementFixed": float((t_pred == f_pred).float().mean()),
            "ranges": ranges, "types": types}


def metrics_entry(m):
    """Accuracy, balanced accuracy, recall per label and the confusion matrix, rounded."""
    return {"accuracy": r4(m["accuracy"]), "balancedAccuracy": r4(m["balancedAccuracy"]),
            "recall": {k: r4(v) for k, v in m["recall"].items()}, "confusion": m["confusion"]}


def held_out_extras(data_dir, teacher, student, fp, splits, labels, types=None):
    """Card fields for data beside the three splits (keywords): `testSynth`, the held-out
    synthetic voices (`test_synth_x/_y.npy`), and `validationReal`, the validation rows that
    are real recordings (`val_synthetic.npy` == 0), on which each stage's epoch was chosen."""
    out = {}
    path = os.path.join(data_dir, "test_synth_x.npy")
    if os.path.isfile(path):
        x = torch.from_numpy(np.load(path))
        y = torch.from_numpy(np.load(os.path.join(data_dir, "test_synth_y.npy")))
        ev = evaluate(teacher, student, fp, (x, y), labels, types)
        out["testSynth"] = {"rows": len(y), "teacher": metrics_entry(ev["teacher"]),
                            "student": metrics_entry(ev["student"]),
                            "studentFixedEmulated": metrics_entry(ev["fixed"])}
    path = os.path.join(data_dir, "val_synthetic.npy")
    if os.path.isfile(path):
        real = torch.from_numpy(np.load(path) == 0)
        x, y = splits["val"][0][real], splits["val"][1][real]
        ev = evaluate(teacher, student, fp, (x, y), labels, types)
        out["validationReal"] = {"rows": len(y), "teacher": metrics_entry(ev["teacher"]),
                                 "student": metrics_entry(ev["student"])}
    return out


def real_packets(data_dir, in_shape, teacher, student, labels):
    """Class distribution of both models on real packets without labels
    (`real_<survey>_x.npy` beside the splits, from `hairtrigger lightcurves
    --alerts`); None when the data holds none."""
    out = {}
    for survey in ("ztf", "rubin"):
        path = os.path.join(data_dir, f"real_{survey}_x.npy")
        if not os.path.isfile(path):
            continue
        x = torch.from_numpy(np.load(path))
        if len(x) == 0 or tuple(x.shape[1:]) != tuple(in_shape):
            raise data.DataError(f"{path}: shape {tuple(x.shape)} is not [N, *input]")
        preds = {name: train.logits_of(m, x).argmax(1) for name, m in
                 (("teacher", teacher), ("student", student))}
        out[survey] = {"alerts": len(x),
                       **{name: dict(zip(labels, torch.bincount(p, minlength=len(labels)).tolist()))
                          for name, p in preds.items()},
                       "agreement": r4(float((preds["teacher"] == preds["student"]).float().mean()))}
    if not out:
        return None
    out["note"] = ("classes the models give the real packets of ../shared/data/alerts; "
                   "they carry no labels, so this is no accuracy")
    return out


def export(model, path, in_shape):
    """Plain float module -> ONNX at path + '.tmp' (renamed once checked)."""
    model.eval()
    torch.onnx.export(model, torch.zeros(1, *in_shape), path + ".tmp", opset_version=OPSET,
                      input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
                      do_constant_folding=True, training=torch.onnx.TrainingMode.EVAL)
    return onnx_check.read(path + ".tmp")


def export_and_check(out_dir, teacher, student, cfg, labels, fp, test_x):
    """Export both models, check interface, ops, grid and student logits."""
    models = {"teacher": teacher, "student": student}
    paths = {name: os.path.join(out_dir, f"{name}.onnx") for name, m in models.items() if m is not None}
    graphs = {name: export(models[name], path, cfg["input"]) for name, path in paths.items()}
    for name, g in graphs.items():
        onnx_check.check_interface(g, paths[name], cfg["input"], len(labels), OPSET)
    s_graph = graphs["student"]
    ops = {n["op"] for n in s_graph["nodes"]}
    if not ops <= onnx_check.STUDENT_OPS:
        raise onnx_check.OnnxError(f"student ops {sorted(ops)} exceed {sorted(onnx_check.STUDENT_OPS)}")
    off_grid = [k for k, v in s_graph["initializers"].items() if not on_grid(torch.from_numpy(v), fp)]
    if off_grid:
        raise onnx_check.OnnxError(f"student initializers off the {fp.name} grid: {off_grid}")
    rows = test_x[:ONNX_CHECK_ROWS]
    with torch.no_grad():
        want = student(rows).numpy()
    got = onnx_check.run_student(s_graph, rows.numpy())
    diff = float(np.abs(got - want).max())
    same_top1 = float((got.argmax(1) == want.argmax(1)).mean())
    print(f"[onnx] student ops {sorted(ops)}; numpy run vs torch on {len(rows)} test "
          f"images: max |diff| {diff:.2e}, top-1 same {same_top1:.4f}", flush=True)
    for path in paths.values():
        os.replace(path + ".tmp", path)
    return {"opset": OPSET, "inputName": "input", "outputName": "logits",
            "batchAxis": "dynamic", "studentOps": sorted(ops),
            "teacherOps": sorted({n["op"] for n in graphs["teacher"]["nodes"]}) if teacher else None,
            "studentCheck": {"rows": len(rows), "maxAbsDiff": float(f"{diff:.3g}"),
                             "top1Same": round(same_top1, 4)}}


def r4(x):
    return None if x is None else round(x, 4)


def model_entry(model, m):
    return {"params": nets.params(model), "accuracy": r4(m["accuracy"]),
            "balancedAccuracy": r4(m["balancedAccuracy"]),
            "recall": {k: r4(v) for k, v in m["recall"].items()},
            "confusion": m["confusion"],
            "architecture": nets.describe(model)}


def targets(cfg, teacher, student, ev):
    fraction = nets.params(student) / nets.params(teacher)
    fraction_max = tasks.params_fraction_max(cfg)
    gap = (ev["teacher"]["accuracy"] - ev["student"]["accuracy"]) * 100
    out = {
        "studentParamsFraction": {"max": fraction_max, "value": r4(fraction),
                                  "met": fraction <= fraction_max,
                                  "missBy": r4(max(0.0, fraction - fraction_max))},
        "accuracyGapPoints": {"max": tasks.ACCURACY_GAP_POINTS_MAX, "value": round(gap, 2),
                              "met": gap <= tasks.ACCURACY_GAP_POINTS_MAX,
                              "missBy": round(max(0.0, gap - tasks.ACCURACY_GAP_POINTS_MAX), 2)},
    }
    for label, floor in cfg["recall_min"].items():
        rec = ev["student"]["recall"].get(label)
        value = 0.0 if rec is None else rec  # absent from test: cannot claim it is met
        out[f"{label.lower()}Recall"] = {"min": floor, "value": r4(rec), "met": value >= floor,
                                         "missBy": r4(max(0.0, floor - value))}
    out["allMet"] = all(t["met"] for t in out.values())
    return out


def student_card_entry(student, ev):
    """The card's `student`: float metrics, then the fixed-point emulation's."""
    entry = model_entry(student, ev["student"])
    entry["fixedAccuracyEmulated"] = r4(ev["fixed"]["accuracy"])
    entry["fixedBalancedAccuracyEmulated"] = r4(ev["fixed"]["balancedAccuracy"])
    entry["fixedRecallEmulated"] = {k: r4(v) for k, v in ev["fixed"]["recall"].items()}
    return entry


def distillation_entry(args, cfg, best, teacher_targets, data_augmentation=None):
    augmentation = "D4 (flips, 90-degree rotations)" if n_views(cfg) > 1 else "none"
    if data_augmentation:
        augmentation = data_augmentation
    if cfg.get("spec_augment"):
        augmentation += (f"; SpecAugment on the {', '.join(cfg['spec_augment'])} batches (2 time masks of "
                         "<= 6 frames, 1 coefficient mask of <= 2, filled with the row's mean)")
    return {"temperature": args.temperature, "alpha": args.alpha,
            "epochs": cfg["epochs"], "bestEpoch": best, "lr": cfg["lr"],
            "batch": args.batch, "teacherBatch": cfg.get("teacher_batch", args.batch),
            "augmentation": augmentation,
            **({"studentWeightDecay": cfg["student_weight_decay"]} if cfg.get("student_weight_decay") else {}),
            "teacherTargets": teacher_targets,
            "selection": "best validation balanced accuracy per stage" + (
                f"; the student's exponential moving average of weights and batch-norm buffers (decay "
                f"{cfg['student_ema']:g} per step, debiased) validated and kept" if cfg.get("student_ema") else ""),
            "classWeights": "inverse train frequency" + "".join(
                f"; {label} x{factor:g} in the student's cross entropy"
                for label, factor in cfg.get("ce_class_scale", {}).items())}


def card_tail(args, meta, fp, ev, onnx_info, seconds, real=None):
    """The card fields every task shares, after its metrics (`real`: realPackets, when given)."""
    return {
        "quantization": {"precision": fp.name, "rounding": "TRN", "overflow": "SAT in QAT",
                         "quantised": "input, weights, biases, every layer output",
                         "accumulator": "exact; output floored once per layer",
                         "weightsSnapped": True,
                         "activationMaxAbs": {k: round(v, 3) for k, v in ev["ranges"].items()},
                         "saturates": firmware_types.saturates(ev["ranges"], fp, ev.get("types"))},
        "onnx": onnx_info,
        **({"realPackets": real} if real is not None else {}),
        "input": meta["input"], "preprocessing": meta["preprocessing"], "source": meta["source"],
        "seed": args.seed, "trainSeconds": round(seconds),
        "reproduce": f"make models MODELS={args.task}",
    }


def trigger_entry(cfg):
    """The card's trigger defaults: target classes, and a streaming task's detector and budget."""
    return {"targets": cfg["trigger_targets"],
            **({"detector": cfg["trigger_detector"]} if "trigger_detector" in cfg else {}),
            **({"budgetUs": cfg["trigger_budget_us"]} if "trigger_budget_us" in cfg else {})}


def card(args, cfg, meta, fp, teacher, student, ev, best, onnx_info, seconds, real=None, extras=None):
    t_acc, s_acc, f_acc = (ev[k]["accuracy"] for k in ("teacher", "student", "fixed"))
    detail = meta.get("datasetDetail")
    return {
        "task": args.task, "labels": meta["labels"], "dataset": meta["dataset"],
        **({"split": meta["split"], "datasetDetail": detail} if detail else {}),
        "trigger": trigger_entry(cfg),
        "teacher": model_entry(teacher, ev["teacher"]),
        "student": student_card_entry(student, ev) | ({"macs": nets.macs(student, cfg["input"])}
                                                      if cfg.get("model") == "ds_cnn" else {}),
        **(extras or {}),
        "agreement": r4(ev["agreement"]), "agreementFixed": r4(ev["agreementFixed"]),
        "ratio": {"studentToTeacherParams": r4(nets.params(student) / nets.params(teacher)),
                  "accuracyGapPoints": round((t_acc - s_acc) * 100, 2),
                  "accuracyGapPointsFixed": round((t_acc - f_acc) * 100, 2)},
        "targets": targets(cfg, teacher, student, ev),
        "distillation": distillation_entry(
            args, cfg, best, f"precomputed on all {n_views(cfg)} D4 views of train"
            if n_views(cfg) > 1 else "precomputed once on train" + extra_teacher_note(cfg),
            detail and detail.get("augmentation")),
        **card_tail(args, meta, fp, ev, onnx_info, seconds, real),
        **({"precision": cfg["card_precision"]} if "card_precision" in cfg else {}),
        **cfg.get("card_extra", {}),
    }


def scores_card(args, cfg, meta, fp, student, ev, best, onnx_info, seconds):
    """The card of a student distilled from scores its rows carry (no teacher network)."""
    first, second = cfg["soft_targets"], cfg["second_teacher"]
    return {
        "task": args.task, "labels": meta["labels"], "dataset": meta["dataset"],
        "trigger": trigger_entry(cfg),
        "teacher": None, "teacherNote": cfg["teacher_note"],
        "student": student_card_entry(student, ev),
        "agreement": r4(ev["agreement"]), "agreementFixed": r4(ev["agreementFixed"]),
        f"agreement{second.capitalize()}": r4(ev["agreementSecond"]),
        f"agreement{second.capitalize()}Fixed": r4(ev["agreementSecondFixed"]),
        "rocAuc": {"labels": f"{first} >= 0.5", "student": r4(ev["auc"]),
                   "studentFixed": r4(ev["aucFixed"]), second: r4(ev["aucSecond"])},
        "reference": {f"{second}AgreementWith{first.capitalize()}": r4(ev["secondAgreement"])},
        "testRows": {"rows": ev["rows"], meta["labels"][1]: ev["positives"],
                     meta["labels"][0]: ev["rows"] - ev["positives"]},
        "targets": score_targets(first, second, ev),
        "distillation": distillation_entry(
            args, cfg, best, f"the rows' {first} as the soft target [1-{first}, {first}], "
            "the same for every D4 view"),
        **card_tail(args, meta, fp, ev, onnx_info, seconds),
    }


def score_targets(first, second, ev):
    """The student should agree with the first score at least as well as the second does."""
    floor, value = ev["secondAgreement"], ev["agreement"]
    out = {f"{first}AgreementVs{second.capitalize()}": {
        "min": r4(floor), "value": r4(value), "met": value >= floor,
        "missBy": r4(max(0.0, floor - value))}}
    out["allMet"] = all(t["met"] for t in out.values())
    return out


def run(args):
    start = time.time()
    cfg = resolve(args)
    seed_everything(args.seed, torch_threads(cfg))
    meta, splits = data.load(args.data, args.task)
    if tuple(meta["input"]["shape"]) != cfg["input"]:
        raise data.DataError(f"meta.json input shape {meta['input']['shape']}, task "
                             f"{args.task} expects {list(cfg['input'])}")
    labels = meta["labels"]
    missing = [lab for lab in cfg["recall_min"] if lab not in labels]
    if missing:
        raise data.DataError(f"labels {labels} lack {missing}, which the targets need")
    fp = FixedPoint(args.int_bits, args.frac_bits)
    teacher, student = build(cfg, meta, args.seed)
    # The student's rows (--fit): the training split, or with the validation speakers' rows.
    fitted = dict(splits, train=fit_rows(args, splits))
    weights = scaled_class_weights(data.class_weights(fitted["train"][1], len(labels)), labels,
                                   cfg["ce_class_scale"])
    print_plan(args, cfg, meta, fitted, teacher, student, weights, fp)

    best = {}
    if teacher is None:
        scores = {name: data.load_scores(args.data, splits, cfg[key])
                  for name, key in (("first", "soft_targets"), ("second", "second_teacher"))}
        for s in data.SPLITS:
            score_kd.check_labels(splits[s][1], scores["first"][s], cfg["soft_targets"])
        t_logits = score_kd.score_logits(scores["first"]["train"]).expand(n_views(cfg), -1, -1)
    else:
        if args.teacher_from:
            teacher, best["teacher"] = load_teacher(args, teacher)
        else:  # on the training split alone, whatever the student's rows
            teacher, best["teacher"], _ = train_teacher(
                args, cfg, teacher, splits, labels, data.class_weights(splits["train"][1], len(labels)))
        t_logits = teacher_view_logits(teacher, fitted["train"][0], n_views(cfg))
        if cfg.get("extra_teacher"):
            t_logits = extra_teacher_logits(args, cfg["extra_teacher"], t_logits)
    student, best["student"], _ = train_student(args, cfg, student, student, fitted, labels,
                                                weights, t_logits, "student")
    if cfg.get("model") == "ds_cnn":
        # The firmware has no batch norm after a conv: fold before quantisation-aware training.
        student = nets.fold_batchnorm(student.eval())
    # QAT and the emulation use the firmware's types (the card's precision), not fp alone.
    types = firmware_types.layer_types(student, cfg.get("card_precision"), fp)
    if cfg["epochs"]["qat"] > 0:
        student, best["qat"], _ = train_student(
            args, cfg, student, lambda x: fixed_forward(student, x, fp, types=types), splits, labels,
            weights, t_logits, "qat")
    snap_(student, fp)

    os.makedirs(args.out, exist_ok=True)
    onnx_info = export_and_check(args.out, teacher, student, cfg, labels, fp, splits["test"][0])
    if teacher is None:
        ev = score_kd.evaluate_scores(student, fp, splits["test"],
                                      {k: v["test"] for k, v in scores.items()}, labels)
        result = scores_card(args, cfg, meta, fp, student, ev, best, onnx_info, time.time() - start)
    else:
        ev = evaluate(teacher, student, fp, splits["test"], labels, types)
        real = real_packets(args.data, cfg["input"], teacher, student, labels)
        extras = held_out_extras(args.data, teacher, student, fp, splits, labels, types)
        result = card(args, cfg, meta, fp, teacher, student, ev, best, onnx_info,
                      time.time() - start, real, extras)
    if args.fit != "train":
        fit_card(args, cfg, result, len(fitted["train"][1]))
    if args.teacher_from and teacher is not None:
        result["distillation"]["teacherFrom"] = (
            "not retrained here: an earlier run's teacher.onnx loaded back (distill.py --teacher-from; "
            "its best epoch from that run's card; the task's comments in tasks.py say which run)")
    card_path = os.path.join(args.out, "card.json")
    with open(card_path + ".tmp", "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    os.replace(card_path + ".tmp", card_path)
    summary(result, args.out)


def fit_card(args, cfg, result, rows):
    """The card of a final fit (--fit train+validation): the split text says which rows fitted what,
    the selection how the student's epoch was fixed, and the validation figures that they were
    fitted on."""
    what = ("the student fitted on the train and validation speakers' rows (their real clips, the real "
            "clips' augmented copies, the synthetic rows of both splits: "
            f"{rows} rows), its epoch fixed; the teacher on train only")
    result["split"] = f"{result.get('split', '')}; {what}".lstrip("; ")
    result["distillation"]["fit"] = {"rows": args.fit, "fittedRows": rows, "studentEpoch": args.fit_epoch}
    result["distillation"]["selection"] = (
        f"teacher: best validation balanced accuracy; student: epoch {args.fit_epoch} of the "
        f"{cfg['epochs']['student']}-epoch schedule kept (the best epoch of the same recipe fitted on train "
        "alone; with validation fitted on, nothing is left to choose it)")
    result["distillation"]["bestEpoch"]["student"] = args.fit_epoch
    if "validationReal" in result:
        result["validationReal"]["fittedOn"] = True


def summary(c, out_dir):
    t, s = c["teacher"], c["student"]
    if t is not None:
        print(f"teacher {t['params']:,} params acc {t['accuracy']} bal {t['balancedAccuracy']}")
    else:
        print(f"teacher: the rows' scores; ROC AUC {c['rocAuc']}")
    print(f"student {s['params']:,} params acc {s['accuracy']} bal {s['balancedAccuracy']} "
          f"fixed {s['fixedAccuracyEmulated']} agreement {c['agreement']} recall {s['recall']}")
    for key in ("validationReal", "testSynth"):
        if key in c:
            print(f"{key} ({c[key]['rows']} rows): teacher acc {c[key]['teacher']['accuracy']}, "
                  f"student acc {c[key]['student']['accuracy']} recall {c[key]['student']['recall']}")
    for name, tg in c["targets"].items():
        if name != "allMet":
            print(f"target {name}: value {tg['value']} met {tg['met']} missBy {tg['missBy']}")
    files = "teacher.onnx, student.onnx" if t is not None else "student.onnx"
    print(f"wrote {out_dir}/{files}, card.json in {c['trainSeconds']}s", flush=True)


def main(argv=None):
    args = parse_args(argv)
    try:
        run(args)
    except (UsageError, data.DataError, onnx_check.OnnxError, firmware_types.PrecisionError) as e:
        print(f"distill: {type(e).__name__}: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
