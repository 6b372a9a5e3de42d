"""Fixed-point emulation of ap_fixed<W,I> for quantisation-aware training.

Rounding is AP_TRN (floor toward minus infinity, the HLS default). Overflow
is saturated here, although the HLS default is AP_WRAP: saturation keeps QAT
gradients sane, and `activation_ranges` reports how close each layer comes to
the bound so a wrap on the FPGA can be ruled out from the card.
"""

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass(frozen=True)
class FixedPoint:
    """ap_fixed<int_bits + frac_bits, int_bits>; int_bits counts the sign."""

    int_bits: int = 6
    frac_bits: int = 10

    def __post_init__(self):
        assert self.int_bits >= 1 and self.frac_bits >= 0
        # Products of two values must stay exact in float64 (53-bit mantissa)
        # for the emulation to be bit-exact; see fixed_forward.
        assert self.int_bits + self.frac_bits <= 24

    @property
    def width(self):
        return self.int_bits + self.frac_bits

    @property
    def scale(self):
        return float(2 ** self.frac_bits)

    @property
    def lo(self):
        return -float(2 ** (self.int_bits - 1))

    @property
    def hi(self):
        return float(2 ** (self.int_bits - 1)) - 1.0 / self.scale

    @property
    def name(self):
        return f"ap_fixed<{self.width},{self.int_bits}>"


def quantise(x, fp):
    """Floor onto the grid and saturate, with a straight-through gradient.

    The gradient is 1 inside [lo, hi] and 0 outside (the clamp's own
    gradient), so saturated values stop pushing further out.
    """
    clamped = torch.clamp(x, fp.lo, fp.hi)
    snapped = torch.floor(clamped * fp.scale) / fp.scale
    return clamped + (snapped - clamped).detach()


@torch.no_grad()
def snap_(module, fp):
    """Put every parameter of `module` exactly on the grid, in place."""
    for p in module.parameters():
        p.copy_(torch.floor(torch.clamp(p, fp.lo, fp.hi) * fp.scale) / fp.scale)


def on_grid(t, fp):
    """True when every value of `t` is representable in `fp`."""
    t = t.detach().double()
    in_range = bool(((t >= fp.lo) & (t <= fp.hi)).all())
    return in_range and bool((torch.floor(t * fp.scale) == t * fp.scale).all())


_PASS_THROUGH = (nn.ReLU, nn.MaxPool1d, nn.MaxPool2d, nn.Flatten, nn.AvgPool2d, nn.AdaptiveAvgPool2d)


def fixed_forward(student, x, fp, trace=None, types=None):
    """Run a Conv(1d/2d)/ReLU/MaxPool/Flatten/Linear Sequential in fixed point.

    The input, weights, biases and every layer's output are quantised: to `fp`, or where
    `types` (firmware_types.layer_types: {"input": FixedPoint, index: {"result", "weight",
    "bias": FixedPoint}}) names another type, to that one, as the firmware does. The
    accumulator is exact (one floor per layer output), which is what the
    HLS layers compute when accum_t is wide enough. Run it on a float64 copy
    for a bit-exact emulation; float32 is fine for training.

    `trace`, when a dict, collects per-layer max |pre-saturation output|.
    """
    types = types or {}
    if trace is not None:
        trace["input"] = max(trace.get("input", 0.0), float(x.detach().abs().max()))
    h = quantise(x, types.get("input", fp))
    for i, layer in enumerate(student):
        t = types.get(i, {})
        w_fp, b_fp = t.get("weight", fp), t.get("bias", fp)
        if isinstance(layer, nn.Conv2d):
            # Strided, padded and depthwise (groups) convs: the keyword DS-CNN's.
            h = F.conv2d(h, quantise(layer.weight, w_fp), quantise(layer.bias, b_fp), stride=layer.stride, padding=layer.padding, groups=layer.groups)
        elif isinstance(layer, nn.Conv1d):
            assert layer.stride == (1,) and layer.padding == (0,)
            h = F.conv1d(h, quantise(layer.weight, w_fp), quantise(layer.bias, b_fp))
        elif isinstance(layer, nn.Linear):
            h = F.linear(h, quantise(layer.weight, w_fp), quantise(layer.bias, b_fp))
        else:
            assert isinstance(layer, _PASS_THROUGH), f"no fixed-point rule for {layer}"
            h = layer(h)
        if trace is not None:
            key = f"{i}:{type(layer).__name__}"
            trace[key] = max(trace.get(key, 0.0), float(h.detach().abs().max()))
        h = quantise(h, t.get("result", fp))
    return h
