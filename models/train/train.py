"""Training loops (teacher, distilled student, QAT) and metrics.

Every loop draws its shuffling and augmentation from the generator it is
given, so a stage is reproducible on its own whatever ran before it.
"""

import copy
import math
import time

import torch
import torch.nn.functional as F

import data
from progress import Progress

EVAL_BATCH = 128  # images per forward pass when only evaluating; 512 was slower


def metrics(pred, y, labels):
    """Accuracy, balanced accuracy, per-class recall (None when a class is absent)
    and the confusion matrix (rows: true class, columns: predicted)."""
    recall = {}
    for i, name in enumerate(labels):
        mask = y == i
        recall[name] = float((pred[mask] == i).float().mean()) if mask.any() else None
    present = [r for r in recall.values() if r is not None]
    n = len(labels)
    confusion = torch.bincount(y * n + pred, minlength=n * n).reshape(n, n)
    return {"accuracy": float((pred == y).float().mean()),
            "balancedAccuracy": sum(present) / len(present),
            "recall": recall, "confusion": confusion.tolist()}


def roc_auc(score, positive):
    """Area under the ROC curve of `score` for the boolean labels `positive`.

    The Mann-Whitney U statistic from average ranks (ties count one half), written here
    because scikit-learn would be the only reason to install it; None when a class is absent.
    """
    score, positive = score.double(), positive.bool()
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        return None
    order = torch.argsort(score)
    sorted_score = score[order]
    ranks = torch.empty_like(score)
    i, n = 0, len(score)
    while i < n:  # 1-based average rank over each run of tied scores
        j = i
        while j + 1 < n and sorted_score[j + 1] == sorted_score[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    u = float(ranks[positive].sum()) - n_pos * (n_pos + 1) / 2
    return u / (n_pos * n_neg)


@torch.no_grad()
def logits_of(forward, x, view=0):
    """Logits of `forward` over x (optionally one D4 view), in eval batches."""
    outs = [forward(data.d4(x[i:i + EVAL_BATCH], view)) for i in range(0, len(x), EVAL_BATCH)]
    return torch.cat(outs)


class WeightAverage:
    """An exponential moving average of a model's weights and floating-point buffers (batch-norm
    running mean and variance), updated after every optimiser step, debiased as Adam's moments.

    After t updates with decay d the average of a tensor is
    sum_s (1 - d) d^(t - s) w_s / (1 - d^t) over the values w_1..w_t after each step: a weighted
    mean of the trajectory with no weight on the initial (random) weights, so it is usable from
    the first epoch. Written by hand: torch 1.13 (Debian's) has no get_ema_multi_avg_fn, and its
    AveragedModel(use_buffers=True) would average the integer num_batches_tracked too. Integer
    buffers are taken as they are.
    """

    def __init__(self, model, decay):
        if not 0.0 < decay < 1.0:
            raise ValueError(f"weight average decay {decay}: want 0 < decay < 1")
        self.decay, self.updates = decay, 0
        self.sums = {k: torch.zeros_like(v, dtype=torch.float64)
                     for k, v in model.state_dict().items() if v.is_floating_point()}

    @torch.no_grad()
    def update(self, model):
        for k, v in model.state_dict().items():
            if k in self.sums:
                self.sums[k].mul_(self.decay).add_(v.double(), alpha=1.0 - self.decay)
        self.updates += 1

    def state_dict(self, model):
        """The model's state dict with the average in place of its floating-point tensors."""
        assert self.updates > 0, "no update yet"
        norm = 1.0 - self.decay ** self.updates
        out = {}
        for k, v in model.state_dict().items():
            out[k] = (self.sums[k] / norm).to(v.dtype) if k in self.sums else v.clone()
        return out


def _cosine(opt, base_lr, step, total):
    for group in opt.param_groups:
        group["lr"] = 0.5 * base_lr * (1 + math.cos(math.pi * step / total))


def fit(name, model, forward, loss_fn, train_x, val, labels, epochs, lr, batch, gen,
        weight_decay=0.0, n_views=data.VIEWS, batch_augment=None, keep_epoch=None, ema_decay=None):
    """Generic loop: D4-augmented minibatches (`n_views` 1: none), cosine LR, keep the best epoch.

    `batch_augment(x, gen)`, when given, transforms each training batch (keywords: SpecAugment).

    `loss_fn(out, idx, views)` gets the model output on the augmented batch,
    the batch's row indices and the view of each row. The best epoch is the
    one with the highest validation balanced accuracy (BCCD is imbalanced, so
    plain accuracy would favour a model that ignores WBC). With `keep_epoch` (a final fit, the
    validation rows among those fitted on) that epoch's weights are kept instead, of the same
    `epochs`-long schedule, and the loop stops there (later epochs cannot change them). Returns
    (model with best weights, best epoch, best val metrics).

    With `ema_decay` (a decay per optimiser step) a WeightAverage of the weights and batch-norm
    buffers is kept beside them; the averaged model is the one validated each epoch and kept (the
    training itself, and so every random stream, is unchanged).
    """
    assert keep_epoch is None or 1 <= keep_epoch <= epochs
    assert epochs >= 1
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    n = len(train_x)
    steps_total, step = epochs * math.ceil(n / batch), 0
    best = (-1.0, 0, None, None)
    average = WeightAverage(model, ema_decay) if ema_decay is not None else None
    start = time.time()
    batches_per_epoch = math.ceil(n / batch)
    for epoch in range(1, epochs + 1):
        model.train()
        loss_sum = 0.0
        bar = Progress(f"[{name}] epoch {epoch}/{epochs}", "batches")
        for b, idx in enumerate(data.batches(n, batch, gen), 1):
            if n_views > 1:
                views = torch.randint(0, n_views, (len(idx),), generator=gen)
                x = data.d4_each(train_x[idx], views)
            else:
                views, x = torch.zeros(len(idx), dtype=torch.long), train_x[idx]
            if batch_augment is not None:
                x = batch_augment(x, gen)
            _cosine(opt, lr, step, steps_total)
            loss = loss_fn(forward(x), idx, views)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if average is not None:
                average.update(model)
            loss_sum += float(loss) * len(idx)
            step += 1
            bar.update(b, batches_per_epoch)
        bar.end()
        model.eval()
        if average is not None:  # validate (and keep) the average; training goes on from its own weights
            trained = copy.deepcopy(model.state_dict())
            model.load_state_dict(average.state_dict(model))
        val_m = metrics(logits_of(forward, val[0]).argmax(1), val[1], labels)
        elapsed = time.time() - start
        marker = ""
        if (val_m["balancedAccuracy"] > best[0]) if keep_epoch is None else epoch == keep_epoch:
            best = (val_m["balancedAccuracy"], epoch, copy.deepcopy(model.state_dict()), val_m)
            marker = " *"
        if average is not None:
            model.load_state_dict(trained)
        print(f"[{name}] epoch {epoch}/{epochs} loss {loss_sum / n:.4f} "
              f"val acc {val_m['accuracy']:.4f} bal {val_m['balancedAccuracy']:.4f} "
              f"{elapsed:.1f}s eta {elapsed / epoch * ((keep_epoch or epochs) - epoch):.0f}s{marker}",
              flush=True)
        if epoch == keep_epoch:
            break
    model.load_state_dict(best[2])
    model.eval()
    return model, best[1], best[3]


def kd_loss(student_logits, teacher_logits, y, weights, temperature, alpha):
    """alpha * T^2 * KL(teacher_T || student_T) + (1 - alpha) * weighted CE."""
    t = temperature
    kl = F.kl_div(F.log_softmax(student_logits / t, dim=1),
                  F.softmax(teacher_logits / t, dim=1), reduction="batchmean")
    ce = F.cross_entropy(student_logits, y, weight=weights)
    return alpha * t * t * kl + (1 - alpha) * ce
