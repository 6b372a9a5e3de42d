"""alerts-realbogus: the ROC AUC against a pairwise count, drb as teacher logits, the score
files' checks, and a whole run on synthetic triplets whose card is checked against the
exported student.onnx run by the numpy interpreter."""

import contextlib
import io
import json
import os
import sys
import tempfile
import unittest

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import data  # noqa: E402
import distill  # noqa: E402
import onnx_check  # noqa: E402
import scores  # noqa: E402
import tasks  # noqa: E402
import train  # noqa: E402


def pairwise_auc(score, positive):
    """P(score of a positive > score of a negative), ties one half: the definition, O(n^2)."""
    pos, neg = score[positive], score[~positive]
    wins = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return wins / (len(pos) * len(neg))


class RocAucTest(unittest.TestCase):
    def test_textbook_case(self):
        # scikit-learn's roc_auc_score docstring example: 0.75.
        auc = train.roc_auc(torch.tensor([0.1, 0.4, 0.35, 0.8]), torch.tensor([0, 0, 1, 1]))
        self.assertAlmostEqual(auc, 0.75)

    def test_equals_the_pairwise_count_with_ties(self):
        rng = np.random.default_rng(5)
        for _ in range(20):
            n = int(rng.integers(2, 60))
            s = np.round(rng.random(n), 1)  # many ties
            y = rng.random(n) < 0.3
            if y.all() or not y.any():
                continue
            self.assertAlmostEqual(train.roc_auc(torch.from_numpy(s), torch.from_numpy(y)),
                                   pairwise_auc(s, y), places=12)

    def test_one_class_has_no_auc(self):
        self.assertIsNone(train.roc_auc(torch.tensor([0.2, 0.3]), torch.tensor([1, 1])))


class ScoreLogitsTest(unittest.TestCase):
    def test_softmax_gives_the_score_back(self):
        p = torch.tensor([0.0, 1e-3, 0.5, 0.97, 1.0])
        got = torch.softmax(scores.score_logits(p)[0].double(), 1)
        want = torch.stack([1 - p, p], 1).double()
        self.assertLess(float((got - want).abs().max()), 2e-6)

    def test_labels_must_be_the_score_at_one_half(self):
        scores.check_labels(torch.tensor([0, 1, 1]), torch.tensor([0.49, 0.5, 0.9]), "drb")
        with self.assertRaisesRegex(data.DataError, "1 labels differ from drb >= 0.5"):
            scores.check_labels(torch.tensor([0, 0, 1]), torch.tensor([0.49, 0.5, 0.9]), "drb")


def write_triplets(dirname, n=(96, 32, 32), seed=3):
    """Synthetic triplets: a real alert has a point source in the difference stamp, whose
    amplitude sets its drb; rb is drb with noise. Each stamp has unit L2 norm."""
    rng = np.random.default_rng(seed)
    side = tasks.TASKS["alerts-realbogus"]["input"][1]
    yy, xx = np.mgrid[:side, :side] - (side - 1) / 2
    blob = np.exp(-(xx ** 2 + yy ** 2) / 4.0)
    meta = {"task": "alerts-realbogus", "labels": ["bogus", "real"],
            "input": {"shape": [3, side, side], "dtype": "float32"}, "preprocessing": {},
            "source": "test", "dataset": dict(zip(data.SPLITS, n))}
    with open(os.path.join(dirname, "meta.json"), "w") as f:
        json.dump(meta, f)
    for split, count in zip(data.SPLITS, n):
        amp = rng.random(count) * 4
        x = rng.normal(size=(count, 3, side, side))
        x[:, 2] += amp[:, None, None] * blob * 10
        x /= np.sqrt((x ** 2).sum(axis=(2, 3), keepdims=True))
        drb = (1 / (1 + np.exp(-4 * (amp - 1.5)))).astype(np.float32)
        rb = np.clip(drb + rng.normal(scale=0.2, size=count), 0, 1).astype(np.float32)
        np.save(os.path.join(dirname, f"{split}_x.npy"), x.astype(np.float32))
        np.save(os.path.join(dirname, f"{split}_y.npy"), (drb >= 0.5).astype(np.int64))
        np.save(os.path.join(dirname, f"{split}_drb.npy"), drb)
        np.save(os.path.join(dirname, f"{split}_rb.npy"), rb)


class ScoresDataTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        write_triplets(self.dir.name, n=(8, 4, 4))

    def tearDown(self):
        self.dir.cleanup()

    def test_bad_score_files(self):
        _, splits = data.load(self.dir.name, "alerts-realbogus")
        self.assertEqual(len(data.load_scores(self.dir.name, splits, "drb")["val"]), 4)
        np.save(os.path.join(self.dir.name, "val_rb.npy"), np.array([0, 0.5, 1.5, 0], np.float32))
        with self.assertRaisesRegex(data.DataError, "val_rb.npy: values outside"):
            data.load_scores(self.dir.name, splits, "rb")
        np.save(os.path.join(self.dir.name, "val_rb.npy"), np.zeros(3, np.float32))
        with self.assertRaisesRegex(data.DataError, r"want float32 \[4\]"):
            data.load_scores(self.dir.name, splits, "rb")
        os.remove(os.path.join(self.dir.name, "test_drb.npy"))
        with self.assertRaisesRegex(data.DataError, "missing .*test_drb.npy"):
            data.load_scores(self.dir.name, splits, "drb")


class ScoreDistillationRunTest(unittest.TestCase):
    """distill.py end to end on synthetic triplets: no teacher network, and a card whose
    figures are those of the exported student.onnx, recomputed here from its outputs."""

    def test_run(self):
        with tempfile.TemporaryDirectory() as d:
            data_dir, out = os.path.join(d, "data"), os.path.join(d, "zoo")
            os.makedirs(data_dir)
            write_triplets(data_dir)
            with contextlib.redirect_stdout(io.StringIO()):
                code = distill.main(["--task", "alerts-realbogus", "--data", data_dir,
                                     "--out", out, "--student-epochs", "25", "--qat-epochs", "2",
                                     "--batch", "16"])
            self.assertEqual(code, 0)
            self.assertEqual(sorted(os.listdir(out)), ["card.json", "student.onnx"])
            with open(os.path.join(out, "card.json")) as f:
                card = json.load(f)
            x = np.load(os.path.join(data_dir, "test_x.npy"))
            drb, rb = (np.load(os.path.join(data_dir, f"test_{k}.npy")) for k in ("drb", "rb"))
            logits = onnx_check.run_student(onnx_check.read(os.path.join(out, "student.onnx")), x)
            p_real = np.exp(logits[:, 1]) / np.exp(logits).sum(1)
            pred = logits.argmax(1)
            self.assertIsNone(card["teacher"])
            self.assertIn("drb", card["teacherNote"])
            self.assertAlmostEqual(card["agreement"], float((pred == (drb >= 0.5)).mean()), places=4)
            self.assertAlmostEqual(card["agreementRb"], float((pred == (rb >= 0.5)).mean()), places=4)
            self.assertAlmostEqual(card["rocAuc"]["student"], pairwise_auc(p_real, drb >= 0.5), places=3)
            self.assertAlmostEqual(card["rocAuc"]["rb"], pairwise_auc(rb, drb >= 0.5), places=4)
            self.assertAlmostEqual(card["reference"]["rbAgreementWithDrb"],
                                   float(((rb >= 0.5) == (drb >= 0.5)).mean()), places=4)
            self.assertEqual(card["testRows"], {"rows": 32, "real": int((drb >= 0.5).sum()),
                                                "bogus": int((drb < 0.5).sum())})
            # The point source is easy to see: a student that learnt nothing sits near 0.5.
            self.assertGreater(card["rocAuc"]["student"], 0.9)


if __name__ == "__main__":
    unittest.main()
