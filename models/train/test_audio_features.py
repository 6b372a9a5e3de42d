"""audio_features.py against independent calculations: a direct DFT, the HTK mel formula and
published mel values, a pure tone's energy, the DCT's orthogonality, the framing of
tf.signal.stft on a 1 s clip."""

import os
import unittest

import numpy as np

import audio_features as af

HERE = os.path.dirname(os.path.abspath(__file__))
CLIP = os.path.join(HERE, "..", "..", "..", "shared", "data", "audio", "micro-speech", "yes_1000ms.wav")


class FrontEndTest(unittest.TestCase):
    def setUp(self):
        self.spec = af.default_spec()

    def test_frames_of_a_second(self):
        # MLPerf Tiny: 49 frames of 30 ms every 20 ms in 1 s (1 + (16000 - 480) // 320).
        f = af.features(np.zeros(16000, dtype=np.int16), self.spec)
        self.assertEqual(f.shape, (49, 10))
        self.assertEqual(f.dtype, np.float32)
        self.assertEqual(af.features(np.zeros(479), self.spec).shape[0], 0)

    def test_hann_is_periodic(self):
        # numpy's symmetric Hanning window of n + 1 points, less its last point.
        np.testing.assert_allclose(af.hann(480), np.hanning(481)[:-1], atol=1e-15)

    def test_magnitude_is_a_direct_dft(self):
        rng = np.random.default_rng(1)
        x = rng.integers(-32768, 32768, 480)
        windowed = x / 32768 * (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(480) / 480))
        k = np.arange(257)[:, None]
        n = np.arange(480)[None, :]
        direct = np.abs((windowed[None, :] * np.exp(-2j * np.pi * k * n / 512)).sum(axis=1))
        np.testing.assert_allclose(af.magnitude(x, self.spec)[0], direct, atol=1e-9)

    def test_mel_scale_matches_published_values(self):
        # HTK mel: 1000 Hz is about 1000 mel; 4000 Hz about 2146 mel (1127 ln(1 + 4000/700)).
        self.assertAlmostEqual(float(af.hz_to_mel(1000)), 999.99, places=1)
        self.assertAlmostEqual(float(af.hz_to_mel(4000)), 2146.06, places=1)

    def test_mel_matrix_by_hand(self):
        m = af.mel_matrix(self.spec)
        self.assertEqual(m.shape, (257, 40))
        self.assertTrue((m[0] == 0).all())  # DC left out
        hz = np.arange(257) * 16000 / 512
        self.assertTrue((m[(hz <= 20) | (hz >= 4000)] == 0).all())
        # Band 0 by hand: edges at mel(20) + {0, 1, 2} * step, weight of bin 1 (31.25 Hz).
        lo = 1127 * np.log(1 + 20 / 700)
        step = (1127 * np.log(1 + 4000 / 700) - lo) / 41
        m1 = 1127 * np.log(1 + 31.25 / 700)
        self.assertAlmostEqual(m[1, 0], min((m1 - lo) / step, (lo + 2 * step - m1) / step), places=12)
        # Neighbouring triangles share edges, so weights sum to 1 between the first and last peak.
        first, last = 700 * np.expm1(np.array([lo + step, lo + 40 * step]) / 1127)
        inside = (hz >= first) & (hz <= last)
        self.assertEqual(int(inside.sum()), 120)  # bins 2..121 (53.7 Hz .. 3789.8 Hz)
        np.testing.assert_allclose(m[inside].sum(axis=1), 1.0, atol=1e-12)

    def test_pure_tone_lands_in_its_band(self):
        # 1 kHz is 30 whole cycles in 480 samples and sits on FFT bin 32: |X[32]| = A * 480 / 4.
        a = 0.5
        x = np.round(a * 32767 * np.sin(2 * np.pi * 1000 * np.arange(480) / 16000))
        mag = af.magnitude(x, self.spec)[0]
        self.assertAlmostEqual(mag[32], a * 32767 / 32768 * 120, delta=0.05)
        lm = af.log_mel(x, self.spec)[0]
        centres = 700 * np.expm1(np.linspace(af.hz_to_mel(20), af.hz_to_mel(4000), 42)[1:-1] / 1127)
        self.assertLessEqual(abs(int(np.argmax(lm)) - int(np.argmin(abs(centres - 1000)))), 1)

    def test_dct_is_htk_scaled(self):
        d = af.dct_matrix(40, 40)
        gram = d.T @ d
        # sqrt(2/N) on every row: orthonormal except row 0, whose norm squared is 2.
        np.testing.assert_allclose(np.diag(gram), [2.0] + [1.0] * 39, atol=1e-12)
        np.testing.assert_allclose(gram - np.diag(np.diag(gram)), 0, atol=1e-12)
        # A flat log-mel vector L gives c0 = sqrt(2N) L and nothing else.
        c = np.full(40, -3.0) @ d
        self.assertAlmostEqual(c[0], np.sqrt(80) * -3.0, places=12)
        np.testing.assert_allclose(c[1:], 0, atol=1e-12)

    def test_logmel_is_mfcc_before_the_dct(self):
        x = np.random.default_rng(2).integers(-3000, 3000, 16000)
        lm = af.features(x, af.default_spec("logmel"))
        self.assertEqual(lm.shape, (49, 40))
        np.testing.assert_allclose(lm.astype(np.float64) @ af.dct_matrix(10, 40), af.features(x, self.spec), atol=1e-4)

    @unittest.skipUnless(os.path.exists(CLIP), "needs ../shared/data/audio")
    def test_reads_a_real_clip(self):
        samples, rate = af.read_wav_int16(CLIP)
        self.assertEqual((rate, len(samples)), (16000, 16000))
        f = af.features(samples, self.spec)
        self.assertEqual(f.shape, (49, 10))
        self.assertTrue(np.isfinite(f).all())


if __name__ == "__main__":
    unittest.main()
