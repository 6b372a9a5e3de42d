"""Seeded random DS-CNNs exported by torch.onnx.export, for test/integration/dscnn.test.ts.

    dscnn_export.py OUT_DIR SEED CHANNELS

MLPerf Tiny's keyword-spotting DS-CNN: Conv2d 10x4 stride 2 -> BN -> ReLU, four blocks of
depthwise 3x3 (groups = channels) -> BN -> ReLU -> pointwise 1x1 -> BN -> ReLU, average pool
over the whole 25x5 map, Linear to 12 classes, on [N, 1, 49, 10] (49 frames of 10 MFCC).
Weights are PyTorch's default init under the seed; the BatchNorms get random statistics and
affine parameters (statistics measured on N(0,1) inputs), so folding them changes the weights, and the last layer standardises each
logit over N(0,1) inputs (spread_head), so the decisions spread over the classes. Writes:

  dscnn_bn.onnx      BatchNormalization nodes kept (training=PRESERVE, no constant folding)
  dscnn_fused.onnx   as torch.onnx.export writes it by default (BN fused by the exporter)
  dscnn_tail.onnx    a depthwise conv with a 3x2 kernel, stride (2, 1) and pads (1, 0), a BN
                     after a ReLU (not foldable: its own layer), GlobalAveragePool, Linear
  meta.json          params (PyTorch's count), and per conv layer of the DS-CNN its
                     multiplies per inference counted from the modules' shapes by forward hooks
"""
import json
import os
import sys

import torch
import torch.nn as nn

torch.set_num_threads(1)


def randomize_bn(m: nn.Module, g: torch.Generator, shape: tuple) -> None:
    """Random affine parameters, and running statistics measured on seeded N(0,1) inputs.

    As in a trained network, each BatchNorm then sees inputs of about its statistics, so the
    activations stay of order 1 through the blocks instead of saturating or dying, and the
    folded weights and biases differ from the exported ones.
    """
    for bn in m.modules():
        if isinstance(bn, nn.BatchNorm2d):
            c = bn.num_features
            bn.weight.data.copy_(torch.rand(c, generator=g) * 0.8 + 0.6)
            bn.bias.data.copy_(torch.randn(c, generator=g) * 0.3)
            bn.momentum = None  # cumulative average over the batches below
            bn.reset_running_stats()
    m.train()
    with torch.no_grad():
        for _ in range(8):
            m(torch.randn(256, *shape, generator=g))
    m.eval()


def block(c: int) -> list:
    return [nn.Conv2d(c, c, 3, padding=1, groups=c, bias=False), nn.BatchNorm2d(c), nn.ReLU(),
            nn.Conv2d(c, c, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU()]


def dscnn(c: int) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, c, (10, 4), stride=2, padding=(5, 1), bias=False), nn.BatchNorm2d(c), nn.ReLU(),
        *block(c), *block(c), *block(c), *block(c),
        nn.AvgPool2d((25, 5)), nn.Flatten(), nn.Linear(c, 12))


def keyword_like(n: int, g: torch.Generator) -> torch.Tensor:
    """[n, 1, 49, 10]: N(0,1) per value plus an N(0,1) offset per sample and MFCC coefficient
    (held over the 49 frames): a word's spectral envelope, which the average pool keeps.
    The test draws its inputs the same way (keywordLike in dscnn.test.ts)."""
    return torch.randn(n, 1, 49, 10, generator=g) + torch.randn(n, 1, 1, 10, generator=g)


def spread_head(m: nn.Module, g: torch.Generator) -> None:
    """Standardises each logit over keyword_like inputs (the test's input distribution).

    A random network's logits have a large common part, so one class would win every time
    and top-1 agreement would test nothing. Folding (logit - mean) / std into the Linear
    spreads the decisions over the classes.
    """
    head = m[-1]
    with torch.no_grad():
        logits = m(keyword_like(2000, g))
        mean, std = logits.mean(0), logits.std(0)
        print(f'logit std before standardising: {std.min().item():.3g} to {std.max().item():.3g}')
        head.weight.div_(std[:, None])
        head.bias.sub_(mean).div_(std)


def tail() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(4, 4, (3, 2), stride=(2, 1), padding=(1, 0), groups=4), nn.ReLU(), nn.BatchNorm2d(4),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3))


def export(m: nn.Module, shape: tuple, path: str, keep_bn: bool) -> None:
    extra = {'training': torch.onnx.TrainingMode.PRESERVE, 'do_constant_folding': False} if keep_bn else {}
    torch.onnx.export(m, torch.zeros(1, *shape), path, opset_version=13, input_names=['x'], output_names=['y'],
                      dynamic_axes={'x': {0: 'N'}, 'y': {0: 'N'}}, **extra)


def conv_macs(m: nn.Module, shape: tuple) -> list:
    """Multiplies per inference of each Conv2d, from its weight shape and its output size."""
    macs = []

    def hook(mod, _inp, out):
        k = mod.kernel_size[0] * mod.kernel_size[1]
        macs.append(out.shape[1] * out.shape[2] * out.shape[3] * (mod.in_channels // mod.groups) * k)

    handles = [mod.register_forward_hook(hook) for mod in m.modules() if isinstance(mod, nn.Conv2d)]
    with torch.no_grad():
        m(torch.zeros(1, *shape))
    for h in handles:
        h.remove()
    return macs


def main() -> None:
    out, seed, c = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    m = dscnn(c)
    randomize_bn(m, g, (1, 49, 10))
    spread_head(m, g)
    export(m, (1, 49, 10), os.path.join(out, 'dscnn_bn.onnx'), True)
    export(m, (1, 49, 10), os.path.join(out, 'dscnn_fused.onnx'), False)
    t = tail()
    randomize_bn(t, g, (4, 9, 6))
    export(t, (4, 9, 6), os.path.join(out, 'dscnn_tail.onnx'), True)
    meta = {'params': sum(p.numel() for p in m.parameters()), 'convMacs': conv_macs(m, (1, 49, 10))}
    with open(os.path.join(out, 'meta.json'), 'w') as f:
        json.dump(meta, f)


if __name__ == '__main__':
    main()
