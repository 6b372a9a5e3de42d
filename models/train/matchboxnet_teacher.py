"""MatchboxNet (NeMo, 30 Speech Commands words) as an extra keyword teacher, training only.

Its front end re-implemented with torch: NeMo's AudioToMFCCPreprocessor is torchaudio's MFCC
(25 ms hann window, 10 ms stride, n_fft 512, 64 HTK mels, log(mel + 1e-6), DCT-II ortho, 64
coefficients); torchaudio is not installed here, so the few lines are written out.
"""
import math
import os
import subprocess
import tempfile

import numpy as np
import torch

RATE, N_FFT, WIN, HOP, N_MELS = 16000, 512, 400, 160, 64
LABELS = ['bed', 'bird', 'cat', 'dog', 'down', 'eight', 'five', 'four', 'go', 'happy', 'house', 'left', 'marvin',
          'nine', 'no', 'off', 'on', 'one', 'right', 'seven', 'sheila', 'six', 'stop', 'three', 'tree', 'two', 'up',
          'wow', 'yes', 'zero', 'label1', 'label2', 'label3']
ROOT = os.path.dirname(os.path.abspath(__file__))


def _hz_to_mel(f):
    return 2595.0 * math.log10(1.0 + f / 700.0)


def mel_fbank():
    """torchaudio.functional.melscale_fbanks(257, 0, 8000, 64, 16000, norm=None, 'htk'): [257, 64]."""
    freqs = torch.linspace(0, RATE // 2, N_FFT // 2 + 1, dtype=torch.float64)
    m = torch.linspace(_hz_to_mel(0.0), _hz_to_mel(RATE / 2), N_MELS + 2, dtype=torch.float64)
    f_pts = 700.0 * (10 ** (m / 2595.0) - 1.0)
    f_diff = f_pts[1:] - f_pts[:-1]
    slopes = f_pts.unsqueeze(0) - freqs.unsqueeze(1)
    down = -slopes[:, :-2] / f_diff[:-1]
    up = slopes[:, 2:] / f_diff[1:]
    return torch.clamp(torch.min(down, up), min=0.0)


def dct_ortho(n_mfcc=N_MELS, n_mels=N_MELS):
    """torchaudio.functional.create_dct(n_mfcc, n_mels, 'ortho'): [n_mels, n_mfcc]."""
    n = torch.arange(n_mels, dtype=torch.float64)
    k = torch.arange(n_mfcc, dtype=torch.float64).unsqueeze(1)
    d = torch.cos(math.pi / n_mels * (n + 0.5) * k)
    d[0] *= 1.0 / math.sqrt(2.0)
    return (d * math.sqrt(2.0 / n_mels)).t()


def features(audio):
    """int16 clips [n, samples] -> MFCC [n, 64, frames] float32 (samples scaled to +-1)."""
    x = torch.as_tensor(np.asarray(audio), dtype=torch.float64) / 32768.0
    window = torch.hann_window(WIN, periodic=True, dtype=torch.float64)
    spec = torch.stft(x, N_FFT, HOP, WIN, window, center=True, pad_mode="reflect", return_complex=True).abs() ** 2
    mel = torch.matmul(spec.transpose(1, 2), mel_fbank())  # [n, frames, mels]
    mfcc = torch.matmul(torch.log(mel + 1e-6), dct_ortho())
    return mfcc.transpose(1, 2).float().numpy()


FEATURE_BATCH = 1000  # clips per STFT: float64 spectra of 21,000 clips at once took 23 GB (OOM)


def logits(audio, model):
    """MatchboxNet logits [n, 33] of int16 clips, by onnxruntime-node (matchboxnet_run.mjs)."""
    f = np.ascontiguousarray(np.concatenate([features(audio[i:i + FEATURE_BATCH])
                                             for i in range(0, len(audio), FEATURE_BATCH)]), dtype="<f4")
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = os.path.join(tmp, "in.f32"), os.path.join(tmp, "out.f32")
        f.tofile(src)
        subprocess.run(["node", os.path.join(ROOT, "matchboxnet_run.mjs"), model, src, str(len(f)),
                        str(f.shape[2]), dst], check=True)
        return np.fromfile(dst, dtype="<f4").reshape(len(f), len(LABELS))


def to_labels(logits, labels, y):
    """MatchboxNet's 33 logits -> probabilities over our `labels` (float32 [n, len(labels)]).

    Our keywords and marvin take their own probability, `unknown` the other words' mass.
    Silence is not one of its words (label1-3 are unnamed): rows labelled silence get a one-hot
    silence target ("silence from our data"), and the unnamed labels' mass is dropped elsewhere.
    """
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    q = np.zeros((len(p), len(labels)), dtype=np.float64)
    for j, word in enumerate(LABELS):
        if word in labels:
            q[:, labels.index(word)] += p[:, j]
        elif not word.startswith("label"):
            q[:, labels.index("unknown")] += p[:, j]
    q /= q.sum(axis=1, keepdims=True)
    silence = np.asarray(y) == labels.index("silence")
    q[silence] = np.eye(len(labels))[labels.index("silence")]
    return q.astype(np.float32)


def mix_logits(t_logits, probs, rows, weight, temperature):
    """Distillation targets mixing the CNN teacher's with MatchboxNet's.

    `t_logits` [views, n, c] (the student reads softmax(t / T)); `probs` [n, c] MatchboxNet's
    mapped probabilities; `rows` a bool [n] of the rows it labels (the real and augmented
    real clips: on espeak voices it is much weaker). Returns logits whose softmax at T is
    (1 - weight) softmax(t / T) + weight * probs^(1/T) (renormalised) on those rows.
    """
    t = temperature
    p_cnn = torch.softmax(t_logits / t, dim=-1)
    p_mbx = torch.softmax(torch.log(probs.clamp_min(1e-8)) / t, dim=-1).expand_as(p_cnn)
    w = weight * rows.to(p_cnn.dtype).view(1, -1, 1)
    return t * torch.log(((1 - w) * p_cnn + w * p_mbx).clamp_min(1e-12))
