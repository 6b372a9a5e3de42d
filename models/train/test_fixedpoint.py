"""Golden tests: fixed-point emulation against an integer reference."""

import os
import sys
import unittest

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import nets  # noqa: E402
from fixedpoint import FixedPoint, fixed_forward, on_grid, quantise, snap_  # noqa: E402

FP = FixedPoint(6, 10)
LSB = 1 / 1024


class QuantiseTest(unittest.TestCase):
    def test_range_and_name(self):
        self.assertEqual(FP.name, "ap_fixed<16,6>")
        self.assertEqual((FP.lo, FP.hi), (-32.0, 32 - LSB))

    def test_floors_toward_minus_infinity_and_saturates(self):
        x = torch.tensor([LSB, 0.0009, -0.0001, -LSB, 1.5 + 0.7 * LSB,
                          31.99999, 100.0, -32.0, -100.0], dtype=torch.float64)
        want = [LSB, 0.0, -LSB, -LSB, 1.5, 32 - LSB, 32 - LSB, -32.0, -32.0]
        self.assertEqual(quantise(x, FP).tolist(), want)

    def test_straight_through_gradient_stops_when_saturated(self):
        x = torch.tensor([0.3, -7.2, 40.0, -40.0], requires_grad=True)
        quantise(x, FP).sum().backward()
        self.assertEqual(x.grad.tolist(), [1.0, 1.0, 0.0, 0.0])

    def test_snap_is_idempotent_and_on_grid(self):
        torch.manual_seed(0)
        m = nets.student((1, 12, 12), (4, 4), 3)
        with torch.no_grad():
            m[0].weight.mul_(100)  # some weights beyond the range
        self.assertFalse(on_grid(m[0].weight, FP))
        snap_(m, FP)
        before = [p.clone() for p in m.parameters()]
        snap_(m, FP)
        for p, q in zip(before, m.parameters()):
            self.assertTrue(torch.equal(p, q))
            self.assertTrue(on_grid(q, FP))


def _int_reference(model, x):
    """ap_fixed<16,6> in integers: exact accumulator, >> 10 (floor), saturate."""
    lo, hi = -2 ** 15, 2 ** 15 - 1

    def ints(t):
        return np.clip(np.floor(t.detach().double().numpy() * 1024), lo, hi).astype(np.int64)

    h = ints(x)
    for layer in model:
        if isinstance(layer, torch.nn.Conv2d):
            w, b = ints(layer.weight), ints(layer.bias)
            n, c, hh, ww = h.shape
            k = w.shape[2]
            out = np.zeros((n, w.shape[0], hh - k + 1, ww - k + 1), np.int64)
            for i in range(k):
                for j in range(k):
                    patch = h[:, :, i:i + out.shape[2], j:j + out.shape[3]]
                    out += np.einsum("nchw,oc->nohw", patch, w[:, :, i, j])
            h = np.clip((out + (b[None, :, None, None] << 10)) >> 10, lo, hi)
        elif isinstance(layer, torch.nn.Linear):
            w, b = ints(layer.weight), ints(layer.bias)
            h = np.clip((h @ w.T + (b << 10)) >> 10, lo, hi)
        elif isinstance(layer, torch.nn.ReLU):
            h = np.maximum(h, 0)
        elif isinstance(layer, torch.nn.MaxPool2d):
            n, c, hh, ww = h.shape
            h = h[:, :, :hh // 2 * 2, :ww // 2 * 2].reshape(n, c, hh // 2, 2, ww // 2, 2).max((3, 5))
        elif isinstance(layer, torch.nn.Flatten):
            h = h.reshape(h.shape[0], -1)
    return h


class FixedForwardTest(unittest.TestCase):
    def check(self, scale):
        torch.manual_seed(1)
        m = nets.student((2, 14, 14), (4, 6), 3).double()
        with torch.no_grad():
            for p in m.parameters():
                p.mul_(scale)
        snap_(m, FP)
        x = torch.randn(16, 2, 14, 14, dtype=torch.float64) * 3
        with torch.no_grad():
            got = fixed_forward(m, x, FP) * 1024
        self.assertTrue(torch.equal(got.round(), got), "output off the grid")
        np.testing.assert_array_equal(got.numpy().astype(np.int64), _int_reference(m, x))

    def test_bit_exact_with_integer_reference(self):
        self.check(1.0)

    def test_bit_exact_when_layers_saturate(self):
        self.check(30.0)


if __name__ == "__main__":
    unittest.main()
