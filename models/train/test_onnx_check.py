"""The ONNX reader and numpy interpreter against torch.onnx.export itself."""

import os
import sys
import tempfile
import unittest
import warnings

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import distill  # noqa: E402
import nets  # noqa: E402
import onnx_check  # noqa: E402

SHAPE = (3, 16, 16)


def export(model, path, output_name="logits"):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model.eval(), torch.zeros(1, *SHAPE), path, opset_version=13,
                          input_names=["input"], output_names=[output_name],
                          dynamic_axes={"input": {0: "batch"}, output_name: {0: "batch"}},
                          do_constant_folding=True)
    return onnx_check.read(path)


class OnnxCheckTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        torch.manual_seed(0)
        self.student = nets.student(SHAPE, (4, 8), 3)

    def tearDown(self):
        self.dir.cleanup()

    def path(self, name):
        return os.path.join(self.dir.name, name)

    def test_reads_interface_and_runs_student_like_torch(self):
        g = export(self.student, self.path("s.onnx"))
        onnx_check.check_interface(g, "s.onnx", SHAPE, 3, 13)
        self.assertEqual({n["op"] for n in g["nodes"]}, {"Conv", "Relu", "MaxPool", "Flatten", "Gemm"})
        self.assertLessEqual({n["op"] for n in g["nodes"]}, onnx_check.STUDENT_OPS)
        self.assertEqual(g["inputs"][0][1][1:], list(SHAPE))
        self.assertIsInstance(g["inputs"][0][1][0], str)  # dynamic batch
        for name, p in self.student.state_dict().items():
            self.assertTrue(any(np.array_equal(p.numpy(), v) for v in g["initializers"].values()),
                            f"{name} not found among initializers")
        x = torch.randn(5, *SHAPE)
        with torch.no_grad():
            want = self.student(x).numpy()
        np.testing.assert_allclose(onnx_check.run_student(g, x.numpy()), want, atol=1e-5)

    def test_rejects_wrong_output_name(self):
        g = export(self.student, self.path("s.onnx"), output_name="out")
        with self.assertRaisesRegex(onnx_check.OnnxError, "logits"):
            onnx_check.check_interface(g, "s.onnx", SHAPE, 3, 13)

    def test_rejects_fake_quant_ops(self):
        model = torch.nn.Sequential(*self.student, torch.nn.Hardtanh(-32, 32))
        g = export(model, self.path("q.onnx"))
        with self.assertRaisesRegex(onnx_check.OnnxError, "Clip"):
            onnx_check.check_interface(g, "q.onnx", SHAPE, 3, 13)

    def test_teacher_exports_with_batchnorm_folded_in_eval(self):
        teacher = nets.teacher(SHAPE, (8, 16), 3, 0.3)
        g = export(teacher, self.path("t.onnx"))
        onnx_check.check_interface(g, "t.onnx", SHAPE, 3, distill.OPSET)
        self.assertNotIn("Dropout", {n["op"] for n in g["nodes"]})


if __name__ == "__main__":
    unittest.main()
