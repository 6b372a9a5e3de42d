"""keywords_data.py against independent facts: the real folders' counts, speaker-disjoint
splits, the SNR a mix achieves (recomputed from its parts), espeak-ng + sox output."""
import os
import tempfile
import unittest

import numpy as np

import keywords_data as kd

SHARED = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data", "audio")


class RealClips(unittest.TestCase):
    def test_counts_and_labels_match_the_dataset_readme(self):
        clips = kd.real_clips(SHARED)
        # 10 keywords x 120, _unknown_ 120, _silence_ 60 (../shared/data/README.md)
        self.assertEqual(len(clips), 1380)
        per = {}
        for _, label, _ in clips:
            per[label] = per.get(label, 0) + 1
        self.assertEqual({k: per[k] for k in kd.KEYWORDS}, {k: 120 for k in kd.KEYWORDS})
        self.assertEqual(per["unknown"], 120)
        self.assertEqual(per["silence"], 60)

    def test_every_speaker_lands_in_one_split_with_the_declared_shares(self):
        clips = [c for c in kd.real_clips(SHARED) if c[1] != "silence"]
        speakers = sorted({s for _, _, s in clips})
        self.assertGreater(len(speakers), 190)
        splits = {s: kd.split_of(s, 1) for s in speakers}
        by_split = {}
        for _, _, s in clips:
            by_split.setdefault(splits[s], set()).add(s)
        names = list(by_split)
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                self.assertEqual(by_split[a] & by_split[b], set())
        share = sum(1 for v in splits.values() if v == "train") / len(splits)
        self.assertGreater(share, 0.7)
        self.assertLess(share, 0.9)
        # another seed, another split: the seed matters
        self.assertNotEqual(splits, {s: kd.split_of(s, 2) for s in speakers})


class Mixing(unittest.TestCase):
    def test_mix_reaches_the_requested_snr(self):
        rng = np.random.default_rng(0)
        for snr in [5.0, 12.5, 30.0]:
            sig = rng.normal(0, 3000, kd.CLIP)
            noise = rng.normal(0, 800, kd.CLIP)
            out = kd.mix(sig, noise, snr).astype(np.float64)
            residual = out - sig  # the scaled noise (plus rounding)
            got = 10 * np.log10(np.mean(sig ** 2) / np.mean(residual ** 2))
            self.assertAlmostEqual(got, snr, delta=0.05)

    def test_fit_clip_keeps_a_short_clip_whole_within_one_second(self):
        rng = np.random.default_rng(1)
        x = np.arange(1, 8001, dtype=np.int16)
        out = kd.fit_clip(x, rng)
        self.assertEqual(len(out), kd.CLIP)
        nz = out[out != 0]
        np.testing.assert_array_equal(nz, x.astype(np.float64))


class Synthesis(unittest.TestCase):
    def test_espeak_and_sox_make_a_16khz_word_with_energy(self):
        with tempfile.TemporaryDirectory() as tmp:
            x = kd.synth("yes", "en-us+f3", 150, 50, tmp)
        self.assertGreater(len(x), 0.2 * kd.RATE)
        self.assertLess(len(x), 1.5 * kd.RATE)
        self.assertGreater(float(np.sqrt(np.mean(x.astype(np.float64) ** 2))), 100.0)


if __name__ == "__main__":
    unittest.main()
