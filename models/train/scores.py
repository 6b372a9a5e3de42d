"""Distillation from scores the rows carry instead of a teacher network.

Alert packets carry the output of ZTF's own real/bogus networks (`candidate.drb`, and the
older `candidate.rb`): the teacher's output is data. This module turns such a score into
two-class teacher logits and evaluates a student against the scores.
"""

import copy

import torch

import data
import train
from fixedpoint import fixed_forward

PROB_EPS = 1e-6  # scores of exactly 0 or 1 would give infinite logits


def score_logits(p):
    """Two-class logits [0, logit(p)] of P(class 1) = p: softmax gives back [1 - p, p].

    Returned with a leading axis of 1, to expand over the D4 views (a score does not
    depend on the view).
    """
    p = p.double().clamp(PROB_EPS, 1 - PROB_EPS)
    logit = torch.log(p) - torch.log1p(-p)
    return torch.stack([torch.zeros_like(logit), logit], 1).float().unsqueeze(0)


def check_labels(y, first, name):
    """The hard labels must be the first score thresholded at 0.5 (class 1 = score >= 0.5)."""
    want = (first >= 0.5).long()
    bad = int((want != y).sum())
    if bad:
        raise data.DataError(f"{bad} labels differ from {name} >= 0.5: rerun the dataset export")


def _p1(logits):
    return torch.softmax(logits.double(), 1)[:, 1]


def evaluate_scores(student, fp, test, scores, labels):
    """Student (float and fixed point) against the first score >= 0.5 and the second.

    `scores` = {"first": tensor, "second": tensor} over the test rows. Agreement is top-1
    against the score thresholded at 0.5; ROC AUC ranks P(class 1) against the first
    score's labels, and the second score's own AUC and agreement are the reference.
    """
    x, y = test
    exact = copy.deepcopy(student).double()
    ranges = {}
    s_logits = train.logits_of(student, x)
    f_logits = train.logits_of(lambda b: fixed_forward(exact, b.double(), fp, ranges), x)
    s_pred, f_pred = s_logits.argmax(1), f_logits.argmax(1)
    pos, second_pos = scores["first"] >= 0.5, (scores["second"] >= 0.5).long()
    return {"student": train.metrics(s_pred, y, labels), "fixed": train.metrics(f_pred, y, labels),
            "agreement": float((s_pred == y).float().mean()),
            "agreementFixed": float((f_pred == y).float().mean()),
            "agreementSecond": float((s_pred == second_pos).float().mean()),
            "agreementSecondFixed": float((f_pred == second_pos).float().mean()),
            "secondAgreement": float((second_pos == y).float().mean()),
            "auc": train.roc_auc(_p1(s_logits), pos),
            "aucFixed": train.roc_auc(_p1(f_logits), pos),
            "aucSecond": train.roc_auc(scores["second"], pos),
            "rows": len(y), "positives": int(pos.sum()), "ranges": ranges}
