"""matchboxnet_teacher.py against independent facts: the DCT-II by FFT (Makhoul 1980), the HTK
mel scale's centre frequencies, MatchboxNet's own words on real Speech Commands clips, and the
mixture its targets should be (recomputed from the parts)."""
import os
import unittest

import numpy as np
import torch

import keywords_data as kd
import matchboxnet_teacher as mt

SHARED = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data")
MODEL = os.path.join(SHARED, "models", "matchboxnet-kws", "classification_model.onnx")


def dct2_fft(x):
    """Orthonormal DCT-II of the last axis by one FFT of the even-odd reordered input."""
    n = x.shape[-1]
    v = np.concatenate([x[..., ::2], x[..., 1::2][..., ::-1]], axis=-1)
    c = np.real(np.fft.fft(v) * np.exp(-1j * np.pi * np.arange(n) / (2 * n))) * 2
    c *= np.sqrt(1 / (2 * n))
    c[..., 0] /= np.sqrt(2)
    return c


class FrontEnd(unittest.TestCase):
    def test_dct_matrix_is_the_orthonormal_dct_ii(self):
        x = np.random.default_rng(1).normal(size=(5, 64))
        np.testing.assert_allclose(x @ mt.dct_ortho().numpy(), dct2_fft(x), atol=1e-9)

    def test_mel_filters_peak_at_the_htk_centres(self):
        fb = mt.mel_fbank().numpy()  # [257 bins, 64 filters]
        mel_max = 2595 * np.log10(1 + 8000 / 700)
        centres = 700 * (10 ** (np.linspace(0, mel_max, 66)[1:-1] / 2595) - 1)
        bins = np.linspace(0, 8000, 257)
        for m in (5, 20, 40, 63):
            self.assertLessEqual(abs(bins[fb[:, m].argmax()] - centres[m]), 8000 / 256, m)
            self.assertTrue((fb[bins <= centres[m - 1], m] == 0).all())
            self.assertTrue((fb[bins >= centres[m + 1] if m < 63 else bins > 8000, m] == 0).all())

    def test_frames_are_10_ms_with_centred_windows(self):
        self.assertEqual(mt.features(np.zeros((2, 16000), dtype=np.int16) + 1).shape, (2, 64, 101))


@unittest.skipUnless(os.path.isfile(MODEL), "MatchboxNet ONNX not in ../shared")
class RealClips(unittest.TestCase):
    def test_matchboxnet_names_the_words_of_real_clips(self):
        # Its own 30 words on real Speech Commands clips: a wrong front end (dB instead of log
        # mels, another window) loses many of them.
        words = kd.KEYWORDS
        base = os.path.join(SHARED, "audio", "speech-commands-pico-tinyml-benchmark")
        paths = [(os.path.join(base, w, f), w) for w in words for f in sorted(os.listdir(os.path.join(base, w)))[:6]]
        audio = np.stack([kd.fit_clip(kd.read_wav(p)[0], np.random.default_rng(0), 0).astype(np.int16) for p, _ in paths])
        got = [mt.LABELS[i] for i in mt.logits(audio, MODEL).argmax(1)]
        right = sum(g == w for g, (_, w) in zip(got, paths))
        self.assertGreaterEqual(right / len(paths), 0.9, list(zip(got, [w for _, w in paths])))


class Targets(unittest.TestCase):
    def test_to_labels_maps_words_and_other_words_mass(self):
        logits = np.full((2, 33), -30.0, dtype=np.float32)
        logits[0, mt.LABELS.index("yes")] = np.log(0.5)
        logits[0, mt.LABELS.index("bed")] = np.log(0.3)
        logits[0, mt.LABELS.index("marvin")] = np.log(0.2)
        q = mt.to_labels(logits, kd.LABELS, [kd.LABELS.index("yes"), kd.LABELS.index("silence")])
        self.assertAlmostEqual(float(q[0, kd.LABELS.index("yes")]), 0.5, places=5)
        self.assertAlmostEqual(float(q[0, kd.LABELS.index("unknown")]), 0.3, places=5)
        self.assertAlmostEqual(float(q[0, kd.LABELS.index("marvin")]), 0.2, places=5)
        self.assertEqual(q[1].tolist(), np.eye(13)[0].tolist())  # silence rows: our label

    def test_mix_is_the_weighted_mixture_at_the_temperature(self):
        gen = torch.Generator().manual_seed(3)
        t_logits = torch.randn(1, 4, 13, generator=gen) * 3
        probs = torch.softmax(torch.randn(4, 13, generator=gen), dim=1)
        rows = torch.tensor([True, False, True, True])
        out = mt.mix_logits(t_logits, probs, rows, 0.25, 4.0)
        got = torch.softmax(out / 4.0, dim=-1)[0]
        sharp = probs ** 0.25 / (probs ** 0.25).sum(1, keepdim=True)
        cnn = torch.softmax(t_logits[0] / 4.0, dim=-1)
        want = torch.where(rows.view(-1, 1), 0.75 * cnn + 0.25 * sharp, cnn)
        torch.testing.assert_close(got, want, atol=1e-6, rtol=1e-5)
