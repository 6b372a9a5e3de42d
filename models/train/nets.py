"""Teacher and student networks.

Students are plain Sequentials of Conv2d(no padding)/ReLU/MaxPool2d/Flatten/
Linear, nothing else, so the ONNX graph maps one-to-one onto the HLS layers.
Flatten is PyTorch's NCHW order.
"""

import math

import torch
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
    if hasattr(model, "text"):
        return model.text
    parts = []
    for m in model:
        if isinstance(m, nn.Conv1d):
            parts.append(f"Conv1d({m.in_channels},{m.out_channels},{m.kernel_size[0]})")
        elif isinstance(m, nn.MaxPool1d):
            parts.append(f"MaxPool1d({m.kernel_size})")
        elif isinstance(m, nn.Conv2d):
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


# -- light curves (alerts-transient): input [C = bands x channels, T = time steps] --------

def student1d(in_shape, widths, n_classes, kernel=5):
    """Conv1d(k, no padding)-ReLU-MaxPool1d(2) per width, then Flatten-Linear.

    Only layers the HLS compiler maps one-to-one (conv1d, relu, maxpool1d,
    dense), so the student also runs on the `sim` backend.
    """
    c, t = in_shape
    layers = []
    for width in widths:
        layers += [nn.Conv1d(c, width, kernel), nn.ReLU(), nn.MaxPool1d(2)]
        c, t = width, (t - kernel + 1) // 2
        assert t >= 1, f"input {in_shape} too short for {len(widths)} blocks"
    layers += [nn.Flatten(), nn.Linear(c * t, n_classes)]
    return nn.Sequential(*layers)


class _Block(nn.Module):
    """Pre-norm transformer encoder block, written out (attention as matmuls)
    so it exports to plain ONNX ops whatever PyTorch's fused fast path does."""

    def __init__(self, d, heads, ff, dropout):
        super().__init__()
        assert d % heads == 0
        self.heads = heads
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.ff = nn.Sequential(nn.Linear(d, ff), nn.GELU(), nn.Linear(ff, d))
        self.drop = nn.Dropout(dropout)

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).reshape(b, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        att = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(d // self.heads), dim=-1)
        y = (att @ v).transpose(1, 2).reshape(b, t, d)
        x = x + self.drop(self.proj(y))
        return x + self.drop(self.ff(self.ln2(x)))


class SequenceTransformer(nn.Module):
    """Teacher in the manner of t2 (Allam & McEwen 2023): time steps of the grid
    are the tokens, embedded by a linear layer, plus a learned position
    embedding, transformer encoder blocks, global average pooling over time and
    a linear classifier. A token is `patch` consecutive steps (all bands and
    channels): patch 4 cuts the attention and token-wise cost 4x, which is what
    keeps training within minutes on two CPU cores. `stem` > 0 puts two
    Conv1d(k=5, same padding)-GELU layers of that width before the tokens: the
    transformer then starts from local shapes (a rise, a decline) and learns
    in fewer epochs (52.9% vs 50.4% validation accuracy after 4 and 3 epochs)."""

    def __init__(self, in_shape, d, layers, heads, ff, n_classes, dropout, patch=1, stem=0):
        super().__init__()
        c, t = in_shape
        assert t % patch == 0, f"{t} steps do not split into patches of {patch}"
        self.stem = nn.Identity()
        if stem > 0:
            self.stem = nn.Sequential(nn.Conv1d(c, stem, 5, padding=2), nn.GELU(),
                                      nn.Conv1d(stem, stem, 5, padding=2), nn.GELU())
            c = stem
        self.patch, self.tokens = patch, t // patch
        self.embed = nn.Linear(c * patch, d)
        self.pos = nn.Parameter(torch.zeros(1, self.tokens, d))
        nn.init.normal_(self.pos, std=0.02)
        self.blocks = nn.Sequential(*[_Block(d, heads, ff, dropout) for _ in range(layers)])
        self.norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, n_classes)
        stem_text = f"2x[Conv1d({stem},5,same)-GELU]-" if stem > 0 else ""
        self.text = (f"{stem_text}Tokens({self.tokens} of {patch} steps x {c})-Linear({c * patch},{d})+Pos-"
                     f"{layers}x[LN-MHA({heads}h)-LN-FF({ff},GELU)]-LN-MeanPool-Linear({d},{n_classes})")

    def forward(self, x):
        x = self.stem(x)
        b, c, _ = x.shape
        tokens = x.reshape(b, c, self.tokens, self.patch).permute(0, 2, 1, 3).reshape(b, self.tokens, c * self.patch)
        h = self.blocks(self.embed(tokens) + self.pos)
        return self.head(self.norm(h).mean(dim=1))


# -- keywords (issue 11): MFCC [1, frames, coefficients] ---------------------------------

def ds_cnn(in_shape, width, blocks, n_classes, first_kernel=(10, 4), first_stride=(2, 2)):
    """MLPerf Tiny's DS-CNN shape: Conv2d(first_kernel, first_stride, same-ish padding)-BN-ReLU,
    then `blocks` x [depthwise Conv3x3(groups = width)-BN-ReLU, pointwise Conv1x1-BN-ReLU],
    then an average over the whole map, Flatten, Linear. The batch norms fold into the convs
    (`fold_batchnorm`) before quantisation-aware training and export, so the firmware sees
    convs with biases only.
    """
    c, h, w = in_shape
    kh, kw = first_kernel
    pad = (kh // 2, kw // 2 - 1 if kw % 2 == 0 else kw // 2)
    layers = [nn.Conv2d(c, width, first_kernel, stride=first_stride, padding=pad, bias=False), nn.BatchNorm2d(width), nn.ReLU()]
    h = (h + 2 * pad[0] - kh) // first_stride[0] + 1
    w = (w + 2 * pad[1] - kw) // first_stride[1] + 1
    assert h >= 1 and w >= 1, f"input {in_shape} too small for the first conv"
    for _ in range(blocks):
        layers += [nn.Conv2d(width, width, 3, padding=1, groups=width, bias=False), nn.BatchNorm2d(width), nn.ReLU(),
                   nn.Conv2d(width, width, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU()]
    # An average over the whole map: exported as GlobalAveragePool (the firmware's globalavgpool).
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, n_classes)]
    return nn.Sequential(*layers)


def fold_batchnorm(model):
    """A copy of `model` with every Conv2d-BatchNorm2d pair folded into one Conv2d with bias
    (eval-mode statistics: w' = w * g / sqrt(v + eps), b' = (b - m) * g / sqrt(v + eps) + beta)."""
    out = []
    mods = list(model)
    i = 0
    while i < len(mods):
        m = mods[i]
        if isinstance(m, nn.Conv2d) and i + 1 < len(mods) and isinstance(mods[i + 1], nn.BatchNorm2d):
            bn = mods[i + 1]
            scale = bn.weight.detach() / torch.sqrt(bn.running_var + bn.eps)
            conv = nn.Conv2d(m.in_channels, m.out_channels, m.kernel_size, stride=m.stride, padding=m.padding, groups=m.groups, bias=True)
            with torch.no_grad():
                conv.weight.copy_(m.weight.detach() * scale.view(-1, 1, 1, 1))
                b = m.bias.detach() if m.bias is not None else torch.zeros_like(bn.running_mean)
                conv.bias.copy_((b - bn.running_mean) * scale + bn.bias.detach())
            out.append(conv)
            i += 2
        else:
            out.append(m)
            i += 1
    return nn.Sequential(*out)


def macs(model, in_shape):
    """Multiply-accumulates of one inference of a Conv2d/Linear Sequential (batch 1)."""
    total = 0
    x = torch.zeros(1, *in_shape)
    for m in model:
        y = m(x)
        if isinstance(m, nn.Conv2d):
            k = m.kernel_size[0] * m.kernel_size[1] * (m.in_channels // m.groups)
            total += y.numel() * k
        elif isinstance(m, nn.Linear):
            total += m.in_features * m.out_features
        x = y
    return total
