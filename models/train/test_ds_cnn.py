"""The keyword DS-CNN builder against independent counts: parameters and multiply-accumulates
worked by hand for MLPerf Tiny's layer shapes, and batch-norm folding against the unfolded
network in eval mode."""
import unittest

import torch

import nets


class DsCnn(unittest.TestCase):
    def test_params_and_macs_as_counted_by_hand(self):
        # [1, 49, 10] input, width 32, 3 blocks, 13 classes.
        m = nets.ds_cnn((1, 49, 10), 32, 3, 13)
        # first conv 10x4x1x32 (no bias) + BN 2x32; per block: dw 3x3x32 + BN 64 + pw 32x32 + BN 64;
        # linear 32x13 + 13
        want = 10 * 4 * 32 + 64 + 3 * (9 * 32 + 64 + 32 * 32 + 64) + 32 * 13 + 13
        self.assertEqual(nets.params(m), want)
        folded = nets.fold_batchnorm(m.eval())
        # folding turns each BN's 2 params per channel into a conv bias of 1 per channel
        self.assertEqual(nets.params(folded), want - 7 * 32)
        # output map of the first conv: (49 + 2*5 - 10)//2 + 1 = 25 by (10 + 2*1 - 4)//2 + 1 = 5
        hw = 25 * 5
        want_macs = hw * 32 * 40 + 3 * (hw * 32 * 9 + hw * 32 * 32) + 32 * 13
        self.assertEqual(nets.macs(folded, (1, 49, 10)), want_macs)

    def test_folding_keeps_the_eval_mode_function(self):
        torch.manual_seed(0)
        m = nets.ds_cnn((1, 49, 10), 16, 2, 12)
        # give the batch norms non-trivial statistics
        m.train()
        with torch.no_grad():
            for _ in range(5):
                m(torch.randn(32, 1, 49, 10) * 3 + 1)
        m.eval()
        x = torch.randn(8, 1, 49, 10)
        with torch.no_grad():
            a = m(x)
            b = nets.fold_batchnorm(m)(x)
        self.assertLess(float((a - b).abs().max()), 1e-4)
        self.assertFalse(any(isinstance(l, torch.nn.BatchNorm2d) for l in nets.fold_batchnorm(m)))


class FixedPointDsCnn(unittest.TestCase):
    def test_fixed_forward_of_strided_depthwise_convs_tracks_the_float_network(self):
        from fixedpoint import FixedPoint, fixed_forward
        torch.manual_seed(1)
        m = nets.fold_batchnorm(nets.ds_cnn((1, 49, 10), 16, 2, 12).eval())
        x = torch.randn(4, 1, 49, 10, dtype=torch.float64)
        m = m.double()
        with torch.no_grad():
            want = m(x)
            fine = fixed_forward(m, x, FixedPoint(8, 16))   # 2^-16 steps: close to float
            coarse = fixed_forward(m, x, FixedPoint(6, 4))   # 2^-4 steps: visibly not
        self.assertLess(float((fine - want).abs().max()), 2e-3)
        self.assertGreater(float((coarse - want).abs().max()), 1e-3)



class KeywordsTask(unittest.TestCase):
    def test_the_task_builds_a_student_within_budget_and_a_teacher_100x_larger(self):
        import distill
        import tasks
        cfg = tasks.TASKS["keywords"]
        labels = ["silence", "unknown", "yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go", "marvin"]
        teacher, student = distill.build(cfg, {"labels": labels}, 0)
        self.assertLessEqual(nets.params(student), 20_000)
        self.assertGreaterEqual(nets.params(teacher) / nets.params(student), tasks.TEACHER_PARAMS_RATIO_MIN)
        y = student(torch.zeros(2, *cfg["input"]))
        self.assertEqual(tuple(y.shape), (2, len(labels)))
        self.assertTrue(set(cfg["trigger_targets"]) <= set(labels))


class HeldOutExtras(unittest.TestCase):
    def test_real_validation_and_held_out_voices_are_scored_on_their_own_rows(self):
        import tempfile
        import os
        import numpy as np
        import distill
        from fixedpoint import FixedPoint
        # A "model" that predicts the class written in the input's first value: the expected
        # figures follow by counting, whatever distill computes.
        # Inputs hold class - 1 (-1, 0, 1) first; logits (-v, 0, v) pick it: v = -1 -> a, 0 -> b
        # (a tie at 0 goes to the first, so b gets a small bias), 1 -> c.
        pick = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 3))
        with torch.no_grad():
            pick[1].weight.copy_(torch.tensor([[-1.0, 0, 0, 0], [0, 0, 0, 0], [1, 0, 0, 0]]))
            pick[1].bias.copy_(torch.tensor([0.0, 0.5, 0.0]))
        labels = ["a", "b", "c"]
        def rows(cls):
            return torch.tensor([[[[float(c) - 1, 0.0, 0.0, 0.0]]] for c in cls], dtype=torch.float32)
        val_pred, val_y = [0, 1, 2, 2, 0], [0, 1, 2, 0, 1]      # real rows: 0, 1, 3 -> 2 of 3 right
        kind = np.array([0, 0, 1, 0, 2], dtype=np.int8)
        synth_pred, synth_y = [2, 2, 1, 0], [2, 1, 1, 0]        # 3 of 4 right
        with tempfile.TemporaryDirectory() as tmp:
            np.save(os.path.join(tmp, "val_synthetic.npy"), kind)
            np.save(os.path.join(tmp, "test_synth_x.npy"), rows(synth_pred).numpy())
            np.save(os.path.join(tmp, "test_synth_y.npy"), np.array(synth_y, dtype=np.int64))
            splits = {"val": (rows(val_pred), torch.tensor(val_y))}
            out = distill.held_out_extras(tmp, pick, pick, FixedPoint(6, 10), splits, labels)
        self.assertEqual(out["validationReal"]["rows"], 3)
        self.assertAlmostEqual(out["validationReal"]["student"]["accuracy"], round(2 / 3, 4))
        self.assertEqual(out["validationReal"]["teacher"]["confusion"], [[1, 0, 1], [0, 1, 0], [0, 0, 0]])
        self.assertEqual(out["testSynth"]["rows"], 4)
        self.assertEqual(out["testSynth"]["student"]["accuracy"], 0.75)
        self.assertEqual(out["testSynth"]["studentFixedEmulated"]["recall"], {"a": 1.0, "b": 0.5, "c": 1.0})


class OnnxStudent(unittest.TestCase):
    def test_numpy_interpreter_runs_the_exported_ds_cnn_as_torch_does(self):
        import tempfile
        import os
        import numpy as np
        import distill
        import onnx_check
        torch.manual_seed(3)
        m = nets.fold_batchnorm(nets.ds_cnn((1, 49, 10), 16, 2, 12).eval())
        with torch.no_grad():
            for p in m.parameters():
                p.add_(torch.randn_like(p) * 0.1)
        with tempfile.TemporaryDirectory() as tmp:
            g = distill.export(m, os.path.join(tmp, "s.onnx"), (1, 49, 10))
        self.assertLessEqual({n["op"] for n in g["nodes"]}, onnx_check.STUDENT_OPS)
        self.assertIn("GlobalAveragePool", {n["op"] for n in g["nodes"]})
        self.assertTrue(any(n["attrs"].get("group", 1) == 16 for n in g["nodes"] if n["op"] == "Conv"))
        x = np.random.default_rng(0).normal(size=(5, 1, 49, 10)).astype(np.float32)
        with torch.no_grad():
            want = m(torch.from_numpy(x)).numpy()
        self.assertLess(float(np.abs(onnx_check.run_student(g, x) - want).max()), 1e-4)


if __name__ == "__main__":
    unittest.main()
