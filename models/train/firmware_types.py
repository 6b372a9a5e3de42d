"""The firmware's fixed-point types, per layer of a student, for the fixed-point emulation.

A card's `precision` (tasks.py `card_precision`, which `hairtrigger compile` reads) widens
some types past the default ap_fixed<16,6>: the keyword student's input is ap_fixed<16,8>
(MFCC c0 reaches -124) and two layers get a seventh integer bit. Quantisation-aware training
and the card's emulated accuracy must use the same types, or they compute another network
than the firmware: with the input saturated at +-32 in QAT but not in the firmware (nor in
the float ONNX) the keyword card read 89.1% emulated against 83.2% for what ships.

The compiler names its layers `<kind>_<n>`, counted per kind in graph order
(hls/compiler/build-ir.ts `emit`); `ir_names` gives a Sequential's layers the same names.
"""

import re

import torch.nn as nn

from fixedpoint import FixedPoint

_AP_FIXED = re.compile(r"^ap_fixed<\s*(\d+)\s*,\s*(-?\d+)\s*(?:,\s*AP_TRN\s*(?:,\s*AP_(?:SAT|WRAP)\s*)?)?>$")
_KNOWN_FIELDS = {"result", "weight", "bias"}


class PrecisionError(ValueError):
    """A card precision the emulation cannot follow (names the field and the value)."""


def parse_type(text, where):
    """`ap_fixed<W,I[,AP_TRN[,AP_SAT|AP_WRAP]]>` -> FixedPoint(I, W - I).

    The emulation floors (AP_TRN) and saturates; other rounding modes are refused rather
    than emulated wrongly. AP_WRAP is read as saturation: QAT saturates (fixedpoint.py) and
    the card's activation ranges show any value that would wrap.
    """
    m = _AP_FIXED.match(text.strip())
    if m is None:
        raise PrecisionError(f"{where}: {text!r} is not ap_fixed<W,I> with AP_TRN rounding")
    width, int_bits = int(m.group(1)), int(m.group(2))
    if int_bits < 1 or width - int_bits < 0 or width > 24:
        raise PrecisionError(f"{where}: {text!r}: the emulation takes 1 <= I <= W <= 24")
    return FixedPoint(int_bits, width - int_bits)


# Module type -> IR kind, as build-ir.ts maps the ONNX op each one exports to.
_KINDS = ((nn.Conv1d, "conv1d"), (nn.Linear, "dense"), (nn.ReLU, "relu"), (nn.MaxPool2d, "maxpool2d"),
          (nn.MaxPool1d, "maxpool1d"), (nn.AdaptiveAvgPool2d, "globalavgpool"))


def _ir_kind(layer):
    if isinstance(layer, nn.Conv2d):
        depthwise = layer.groups > 1 and layer.groups == layer.in_channels == layer.out_channels
        return "dwconv2d" if depthwise else "conv2d"
    # None for Flatten: no layer of its own in the firmware
    return next((kind for cls, kind in _KINDS if isinstance(layer, cls)), None)


def ir_names(student):
    """The compiler's layer name for each module of a Sequential (None where it has none)."""
    counts = {}
    names = []
    for layer in student:
        kind = _ir_kind(layer)
        if kind is None:
            names.append(None)
            continue
        names.append(f"{kind}_{counts.get(kind, 0)}")
        counts[kind] = counts.get(kind, 0) + 1
    return names


def layer_types(student, precision, fp):
    """Per-layer types of `student` under a card `precision` ({"input", "layers": {name:
    {"result", "weight", "bias"}}}), the rest `fp`: {"input": FixedPoint, index: {field:
    FixedPoint}} for fixedpoint.fixed_forward. None or {} precision: everything `fp`."""
    precision = precision or {}
    types = {"input": parse_type(precision["input"], "precision.input") if "input" in precision else fp}
    index = {name: i for i, name in enumerate(ir_names(student)) if name is not None}
    for name, spec in precision.get("layers", {}).items():
        if name not in index:
            raise PrecisionError(f"precision.layers.{name}: no such layer; the student has {sorted(index)}")
        unknown = set(spec) - _KNOWN_FIELDS
        if unknown:
            raise PrecisionError(f"precision.layers.{name}: cannot emulate {sorted(unknown)}; known: {sorted(_KNOWN_FIELDS)}")
        types[index[name]] = {k: parse_type(v, f"precision.layers.{name}.{k}") for k, v in spec.items()}
    return types


def saturates(ranges, fp, types=None):
    """True when a traced max |value| (fixed_forward's `trace`: "input", "<index>:<Module>")
    passes the largest value of the type it is quantised to."""
    types = types or {}

    def hi(key):
        if key == "input":
            return types.get("input", fp).hi
        return types.get(int(key.split(":")[0]), {}).get("result", fp).hi

    return any(v > hi(k) for k, v in ranges.items())
