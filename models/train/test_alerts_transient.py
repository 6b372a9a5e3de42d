"""alerts-transient: the numpy light-curve grid worked by hand, the 1-D student
through the numpy ONNX interpreter and the fixed-point emulation, the teacher's
export and the parameter budget."""

import os
import sys
import contextlib
import io
import json
import tempfile
import unittest
import warnings

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import alerts_lightcurve  # noqa: E402
import data  # noqa: E402
import distill  # noqa: E402
import nets  # noqa: E402
import onnx_check  # noqa: E402
import tasks  # noqa: E402
from fixedpoint import FixedPoint, fixed_forward, snap_  # noqa: E402

SMALL = dict(alerts_lightcurve.default_spec(), bands=["g", "r"], steps=3, stepDays=2,
             input={"shape": [6, 3]})


def points(rows):
    jd, band, flux, upper = zip(*rows)
    return {"jd": np.array(jd), "band": np.array(band), "flux": np.array(flux, np.float32),
            "upperLimit": np.array(upper)}


class GridTest(unittest.TestCase):
    def test_hand_worked_grid(self):
        # Alert at jd 100; g = band 1, r = band 2; 2-day bins: ages [4,6) [2,4) [0,2).
        got = alerts_lightcurve.grid(points([
            (94.5, 1, 30, 0), (95.5, 1, 10, 0),  # g bin 0: mean 20 / scale 40
            (96.5, 2, 8, 1), (97.0, 2, 16, 1),  # r limits bin 1: deepest 8 / 40
            (99.0, 2, 400, 1),  # r limit bin 2: 10, capped at 4
            (99.5, 2, -40, 0),  # r detection bin 2: -1
            (100.0, 1, 20, 0),  # g, the alert: bin 2
            (93.9, 1, 1e4, 0), (100.2, 1, 1e4, 0), (99.0, 5, 1e4, 0),  # too old, later, y
            (98.0, 1, np.nan, 0),  # not finite: left out
        ]), 100.0, SMALL)
        want = np.array([
            [0.5, 0, 0.5], [1, 0, 1], [0, 0, 0],  # g: flux, detected, upper limit
            [0, 0, -1], [0, 0, 1], [0, 0.2, 4],  # r
        ], dtype=np.float32)
        np.testing.assert_array_equal(got, want)

    def test_no_detection_puts_limits_at_the_cap(self):
        got = alerts_lightcurve.grid(points([(99.0, 2, 5, 1)]), 100.0, SMALL)
        self.assertEqual(got[5, 2], 4)
        self.assertEqual(np.count_nonzero(got), 1)

    def test_default_spec_matches_the_task_input(self):
        self.assertEqual(tuple(alerts_lightcurve.default_spec()["input"]["shape"]),
                         tasks.TASKS["alerts-transient"]["input"])


class SequenceNetsTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.cfg = tasks.TASKS["alerts-transient"]
        torch.manual_seed(0)

    def tearDown(self):
        self.dir.cleanup()

    def export(self, model, name):
        path = os.path.join(self.dir.name, name)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return distill.export(model, path, self.cfg["input"])

    def test_student_budget_and_hls_ops(self):
        meta = {"labels": ["a"] * 7}
        teacher, student = distill.build(self.cfg, meta, 0)
        self.assertLessEqual(nets.params(student) / nets.params(teacher), 0.05)
        graph = self.export(student, "student.onnx")
        self.assertLessEqual({n["op"] for n in graph["nodes"]}, onnx_check.STUDENT_OPS)

    def test_numpy_interpreter_runs_conv1d_like_torch(self):
        student = nets.student1d(self.cfg["input"], (4, 6), 7, kernel=5)
        graph = self.export(student, "s.onnx")
        x = torch.randn(9, *self.cfg["input"])
        with torch.no_grad():
            want = student(x).numpy()
        got = onnx_check.run_student(graph, x.numpy())
        np.testing.assert_allclose(got, want, atol=1e-4)

    def test_fixed_forward_of_conv1d_matches_float_on_the_grid(self):
        fp = FixedPoint(6, 10)
        student = nets.student1d(self.cfg["input"], (4, 6), 7, kernel=5).double()
        snap_(student, fp)
        x = torch.floor(torch.rand(5, *self.cfg["input"], dtype=torch.float64) * 1024) / 1024
        with torch.no_grad():
            fixed = fixed_forward(student, x, fp)
            exact = student(x)
        # One floor per layer output: at most a few LSB (2^-10) from the exact float.
        self.assertLess(float((fixed - exact).abs().max()), 0.05)
        self.assertTrue(bool((torch.floor(fixed * 1024) == fixed * 1024).all()))

    def test_loads_sequence_splits(self):
        shape = self.cfg["input"]
        meta = {"task": "alerts-transient", "labels": [str(k) for k in range(7)],
                "input": {"shape": list(shape)}, "preprocessing": {}, "source": "test",
                "dataset": {s: 14 for s in data.SPLITS}}
        with open(os.path.join(self.dir.name, "meta.json"), "w") as f:
            json.dump(meta, f)
        for split in data.SPLITS:
            np.save(os.path.join(self.dir.name, f"{split}_x.npy"), np.zeros((14, *shape), np.float32))
            np.save(os.path.join(self.dir.name, f"{split}_y.npy"), np.arange(14, dtype=np.int64) % 7)
        _, splits = data.load(self.dir.name, "alerts-transient")
        self.assertEqual(tuple(splits["train"][0].shape), (14, *shape))
        np.save(os.path.join(self.dir.name, "val_x.npy"), np.zeros((14, 1, *shape), np.float32))
        with self.assertRaises(data.DataError):
            data.load(self.dir.name, "alerts-transient")

    def test_teacher_exports_with_a_dynamic_batch(self):
        t = self.cfg["teacher"]
        teacher = nets.SequenceTransformer(self.cfg["input"], t["d"], t["layers"], t["heads"],
                                           t["ff"], 7, 0.1, t["patch"], t["stem"]).eval()
        graph = self.export(teacher, "teacher.onnx")
        onnx_check.check_interface(graph, "teacher.onnx", self.cfg["input"], 7, distill.OPSET)


class DistillRunTest(unittest.TestCase):
    """One epoch per stage on random grids: the whole alerts-transient run, to the card."""

    def test_card_has_confusion_and_real_packet_counts(self):
        rng = np.random.default_rng(0)
        shape = tasks.TASKS["alerts-transient"]["input"]
        labels = ["SN Ia", "SN II", "SN Ibc", "SLSN", "TDE", "AGN", "Periodic"]
        with tempfile.TemporaryDirectory() as d:
            sizes = {"train": 56, "val": 21, "test": 35}
            meta = {"task": "alerts-transient", "labels": labels, "source": "test",
                    "input": {"shape": list(shape), "dtype": "float32"},
                    "preprocessing": alerts_lightcurve.default_spec(), "dataset": sizes}
            with open(os.path.join(d, "meta.json"), "w") as f:
                json.dump(meta, f)
            ys = {}
            for split, n in sizes.items():
                np.save(os.path.join(d, f"{split}_x.npy"), rng.random((n, *shape), np.float32))
                ys[split] = rng.permutation(np.arange(n) % 7).astype(np.int64)
                np.save(os.path.join(d, f"{split}_y.npy"), ys[split])
            np.save(os.path.join(d, "real_ztf_x.npy"), rng.random((9, *shape), np.float32))
            out = os.path.join(d, "zoo")
            with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
                warnings.simplefilter("ignore")
                code = distill.main(["--task", "alerts-transient", "--data", d, "--out", out,
                                     "--teacher-epochs", "1", "--student-epochs", "1",
                                     "--qat-epochs", "1"])
            self.assertEqual(code, 0)
            with open(os.path.join(out, "card.json")) as f:
                card = json.load(f)
        confusion = np.array(card["student"]["confusion"])
        np.testing.assert_array_equal(confusion.sum(1), np.bincount(ys["test"], minlength=7))
        self.assertAlmostEqual(np.trace(confusion) / sizes["test"], card["student"]["accuracy"], 4)
        self.assertEqual(sum(card["realPackets"]["ztf"]["student"].values()), 9)
        self.assertNotIn("rubin", card["realPackets"])
        self.assertEqual(card["targets"]["studentParamsFraction"]["max"], 0.05)
        self.assertEqual(card["distillation"]["augmentation"], "none")
        self.assertEqual(card["preprocessing"]["kind"], "lightcurve")


if __name__ == "__main__":
    unittest.main()
