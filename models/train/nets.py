"""Teacher and student networks.

Students are plain Sequentials of Conv2d(no padding)/ReLU/MaxPool2d/Flatten/
Linear, nothing else, so the ONNX graph maps one-to-one onto the HLS layers.
Flatten is PyTorch's NCHW order.
"""

import torch.nn as nn


def student(in_shape, widths, n_classes):
    """Conv3x3-ReLU-MaxPool2 per width, then Flatten-Linear."""
    c, h, w = in_shape
    layers = []
    for width in widths:
        layers += [nn.Conv2d(c, width, 3), nn.ReLU(), nn.MaxPool2d(2)]
        c, h, w = width, (h - 2) // 2, (w - 2) // 2
        assert h >= 1 and w >= 1, f"input {in_shape} too small for {len(widths)} blocks"
    layers += [nn.Flatten(), nn.Linear(c * h * w, n_classes)]
    return nn.Sequential(*layers)


def teacher(in_shape, widths, n_classes, dropout):
    """VGG-style Conv3x3-BN-ReLU blocks with a MaxPool2 between them.

    Most parameters sit in the last, low-resolution blocks, so the parameter
    budget (>= 100x the student) costs little compute.
    """
    c = in_shape[0]
    layers = []
    for i, width in enumerate(widths):
        if i > 0:
            layers.append(nn.MaxPool2d(2))
        layers += [nn.Conv2d(c, width, 3, padding=1, bias=False),
                   nn.BatchNorm2d(width), nn.ReLU()]
        c = width
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout),
               nn.Linear(c, n_classes)]
    return nn.Sequential(*layers)


def params(model):
    return sum(p.numel() for p in model.parameters())


def describe(model):
    """One-line architecture text for the model card."""
    parts = []
    for m in model:
        if isinstance(m, nn.Conv2d):
            pad = f",pad={m.padding[0]}" if m.padding != (0, 0) else ""
            bias = "" if m.bias is not None else ",nobias"
            parts.append(f"Conv2d({m.in_channels},{m.out_channels},{m.kernel_size[0]}{pad}{bias})")
        elif isinstance(m, nn.Linear):
            parts.append(f"Linear({m.in_features},{m.out_features})")
        elif isinstance(m, nn.MaxPool2d):
            parts.append(f"MaxPool{m.kernel_size}")
        elif isinstance(m, nn.BatchNorm2d):
            parts.append("BN")
        elif isinstance(m, nn.AdaptiveAvgPool2d):
            parts.append("GlobalAvgPool")
        elif isinstance(m, nn.Dropout):
            parts.append(f"Dropout({m.p})")
        else:
            parts.append(type(m).__name__)
    return "-".join(parts)
