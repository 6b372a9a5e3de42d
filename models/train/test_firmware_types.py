"""The firmware's per-layer types in the fixed-point emulation, against independent sources:
layer names counted from the exported ONNX graph (what hls/compiler/build-ir.ts names), and
ap_fixed<W,I,AP_TRN,AP_SAT> values worked by hand."""
import os
import sys
import tempfile
import unittest

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import firmware_types  # noqa: E402
import nets  # noqa: E402
import onnx_check  # noqa: E402
import tasks  # noqa: E402
from fixedpoint import FixedPoint, fixed_forward  # noqa: E402

FP = FixedPoint(6, 10)


def folded_student():
    torch.manual_seed(0)
    return nets.fold_batchnorm(nets.ds_cnn((1, 49, 10), 8, 3, 13).eval())


class Names(unittest.TestCase):
    def test_names_follow_the_exported_graph(self):
        """The compiler counts layers per kind in graph order: Conv with group > 1 is a
        dwconv2d, other Convs conv2d, Relu relu, Gemm dense, GlobalAveragePool globalavgpool."""
        student = folded_student()
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "s.onnx")
            torch.onnx.export(student, torch.zeros(1, 1, 49, 10), path, opset_version=13)
            graph = onnx_check.read(path)
        kinds = {"Relu": "relu", "Gemm": "dense", "GlobalAveragePool": "globalavgpool"}
        counts, want = {}, []
        for node in graph["nodes"]:
            if node["op"] == "Conv":
                kind = "dwconv2d" if node["attrs"].get("group", 1) > 1 else "conv2d"
            elif node["op"] in kinds:
                kind = kinds[node["op"]]
            else:
                continue
            want.append(f"{kind}_{counts.get(kind, 0)}")
            counts[kind] = counts.get(kind, 0) + 1
        self.assertEqual([n for n in firmware_types.ir_names(student) if n is not None], want)

    def test_unknown_layer_and_field_are_refused(self):
        student = folded_student()
        with self.assertRaisesRegex(firmware_types.PrecisionError, "dwconv2d_7: no such layer"):
            firmware_types.layer_types(student, {"layers": {"dwconv2d_7": {"result": "ap_fixed<16,7>"}}}, FP)
        with self.assertRaisesRegex(firmware_types.PrecisionError, "cannot emulate"):
            firmware_types.layer_types(student, {"layers": {"relu_0": {"accum": "ap_fixed<32,12>"}}}, FP)
        with self.assertRaisesRegex(firmware_types.PrecisionError, "AP_TRN"):
            firmware_types.parse_type("ap_fixed<16,6,AP_RND>", "x")


class Emulation(unittest.TestCase):
    def test_keyword_card_types_reach_the_emulation(self):
        """The keyword card's input type ap_fixed<16,8,AP_TRN,AP_SAT> spans [-128, 128 - 2^-8];
        the default ap_fixed<16,6> saturates at 32 - 2^-10. A first conv that only copies its
        input (one tap of weight 1) shows which one the emulation applied."""
        student = nets.fold_batchnorm(nets.ds_cnn((1, 49, 10), 2, 3, 2).eval())
        with torch.no_grad():
            for p in student.parameters():
                p.zero_()
            student[0].weight[0, 0, 5, 1] = 1.0  # the tap that lines up with the centre (pad 5, 1)
        types = firmware_types.layer_types(student, tasks.TASKS["keywords"]["card_precision"], FP)
        self.assertEqual((types["input"].lo, types["input"].hi), (-128.0, 128 - 2 ** -8))
        self.assertEqual(types[2]["result"].name, "ap_fixed<16,7>")  # dwconv2d_0
        x = torch.zeros(1, 1, 49, 10, dtype=torch.float64)
        x[0, 0, 0, 0] = -100.0 - 2 ** -9  # floors to -100 - 2^-8 on the input's grid
        trace = {}
        # conv2d_0 (ap_fixed<16,6> result) reads it: saturated at -32 there, the input not.
        fixed_forward(student[:1].double(), x, FP, trace, types)
        self.assertEqual(trace["0:Conv2d"], 100.0 + 2 ** -8)
        self.assertEqual(fixed_forward(student[:1].double(), x, FP, None, types)[0, 0, 0, 0].item(), -32.0)
        self.assertFalse(firmware_types.saturates({"input": 100.0}, FP, types))
        self.assertTrue(firmware_types.saturates({"input": 100.0}, FP))
        self.assertTrue(firmware_types.saturates(trace, FP, types))


if __name__ == "__main__":
    unittest.main()
