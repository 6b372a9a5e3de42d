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
        per = {"marvin": 0}
        for _, label, _ in clips:
            per[label] = per.get(label, 0) + 1
        self.assertEqual({k: per[k] for k in kd.KEYWORDS}, {k: 120 for k in kd.KEYWORDS})
        # _unknown_ holds 5 real "marvin" clips (the README's 25 other words include it):
        # marvin is one of our labels, so they are marvins, not unknown.
        self.assertEqual(per["unknown"], 115)
        self.assertEqual(per["marvin"], 5)
        self.assertEqual(per["silence"], 60)
        for path, label, _ in clips:
            if os.path.basename(path).startswith("marvin_"):
                self.assertEqual(label, "marvin", path)

    def test_speakers_are_speech_commands_ids_whatever_the_folder(self):
        # Speech Commands speaker ids are 8 hex digits (Warden 2018); _unknown_ names put the
        # word in front, which must not make a new "speaker" (the split is by speaker).
        clips = [c for c in kd.real_clips(SHARED) if c[1] != "silence"]
        for path, _, speaker in clips:
            self.assertRegex(speaker, r"^[0-9a-f]{8}$", path)
        unknown_speakers = {s for p, _, s in clips if "_unknown_" in p}
        keyword_speakers = {s for p, label, s in clips if label in kd.KEYWORDS}
        self.assertEqual(len(unknown_speakers - keyword_speakers), 0)  # README: all also in the keyword folders

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


def dominant_hz(x):
    """The strongest frequency of `x` (16 kHz), from its spectrum."""
    spectrum = np.abs(np.fft.rfft(x.astype(np.float64) * np.hanning(len(x))))
    return float(np.argmax(spectrum)) * kd.RATE / len(x)


class Augmentation(unittest.TestCase):
    def test_sox_speed_scales_a_tone_and_the_length(self):
        tone = np.round(8000 * np.sin(2 * np.pi * 1000 * np.arange(kd.CLIP) / kd.RATE)).astype("<i2")
        for factor in (0.85, 1.15):
            out = kd.sox_raw(["-c", "1", "-", "speed", str(factor)], tone.tobytes())
            self.assertAlmostEqual(len(out) / kd.CLIP, 1 / factor, delta=0.01)
            self.assertAlmostEqual(dominant_hz(out), 1000 * factor, delta=5)

    def test_shift_moves_samples_like_a_zero_padded_roll(self):
        x = np.arange(1, 101, dtype=np.float64)
        for n in (-30, 0, 17):
            padded = np.concatenate([np.zeros(100), x, np.zeros(100)])
            np.testing.assert_array_equal(kd.shift(x, n), np.roll(padded, n)[100:200])

    def test_augment_is_seeded_and_keeps_one_second_of_int16(self):
        rng = np.random.default_rng(5)
        noises = [rng.normal(0, 500, 3 * kd.CLIP)]
        clip = np.round(6000 * np.sin(2 * np.pi * 440 * np.arange(kd.CLIP) / kd.RATE)).astype(np.int16)
        a = [kd.augment(clip, np.random.default_rng(9), noises, noises) for _ in range(2)]
        np.testing.assert_array_equal(a[0], a[1])
        self.assertEqual((a[0].dtype, len(a[0])), (np.int16, kd.CLIP))
        b = kd.augment(clip, np.random.default_rng(10), noises, noises)
        self.assertFalse(np.array_equal(a[0], b))

    def test_music_is_tones_of_the_scale(self):
        track = kd.music_track(np.random.default_rng(3), seconds=2)
        self.assertEqual(len(track), 2 * kd.RATE)
        # Equal-tempered pitches of C major (octaves 3-5, A4 = 440 Hz) and their harmonics:
        # the strongest frequency of each 0.25 s piece lies within a semitone's 3% of one.
        steps = {"C": -9, "D": -7, "E": -5, "F": -4, "G": -2, "A": 0, "B": 2}
        notes = [440 * 2 ** ((s + 12 * (o - 4)) / 12) for s in steps.values() for o in (3, 4, 5)]
        allowed = np.array([n * h for n in notes for h in range(1, 6)])
        for piece in track.reshape(8, -1):
            if np.sqrt(np.mean(piece ** 2)) > 100:
                f = dominant_hz(piece)
                self.assertLess(np.min(np.abs(allowed - f) / allowed), 0.03, f)


class Synthesis(unittest.TestCase):
    def test_espeak_and_sox_make_a_16khz_word_with_energy(self):
        with tempfile.TemporaryDirectory() as tmp:
            x = kd.synth("yes", "en-us+f3", 150, 50, tmp)
        self.assertGreater(len(x), 0.2 * kd.RATE)
        self.assertLess(len(x), 1.5 * kd.RATE)
        self.assertGreater(float(np.sqrt(np.mean(x.astype(np.float64) ** 2))), 100.0)

    def test_the_same_utterance_twice_is_the_same_samples(self):
        # sox dithers from its own random source unless told not to: the data must not.
        with tempfile.TemporaryDirectory() as tmp:
            a, b = (kd.synth("marvin", "en-gb+m3", 170, 40, tmp) for _ in range(2))
        np.testing.assert_array_equal(a, b)


if __name__ == "__main__":
    unittest.main()
