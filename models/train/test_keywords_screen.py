"""The keyword training's helpers for the music false alarms (issue 11): the extra teacher's
clean rows, a teacher loaded back from its ONNX export, the background codes of the data, and
keywords_screen.py's detector and scorer against hand-worked streams (the rules of
host/src/trigger/detector.ts and host/src/modalities/audio/score.ts)."""
import os
import tempfile
import unittest

import numpy as np
import torch

import distill
import keywords_data as kd
import keywords_screen as ks
import nets

LABELS = ["silence", "unknown", *kd.KEYWORDS, "marvin"]


class ExtraTeacherRows(unittest.TestCase):
    def test_clean_rows_are_real_or_augmented_without_a_background(self):
        kinds = np.array([0, 1, 2, 2, 2, 1, 0], dtype=np.int8)       # real, synthetic, augmented
        background = np.array([0, 1, 0, 1, 2, 2, 0], dtype=np.int8)  # none, noise, music
        with tempfile.TemporaryDirectory() as tmp:
            np.save(os.path.join(tmp, "train_synthetic.npy"), kinds)
            np.save(os.path.join(tmp, "train_background.npy"), background)
            self.assertEqual(distill.extra_teacher_rows(tmp, "real").tolist(), [1, 0, 1, 1, 1, 0, 1])
            self.assertEqual(distill.extra_teacher_rows(tmp, "clean").tolist(), [1, 0, 1, 0, 0, 0, 1])
            with self.assertRaises(distill.UsageError):
                distill.extra_teacher_rows(tmp, "all")
            os.remove(os.path.join(tmp, "train_background.npy"))
            with self.assertRaisesRegex(Exception, "train_background.npy"):
                distill.extra_teacher_rows(tmp, "clean")


class TeacherFromOnnx(unittest.TestCase):
    def test_the_export_loaded_back_computes_what_the_trained_teacher_did(self):
        torch.manual_seed(4)
        t = nets.teacher((1, 49, 10), (8, 16), 13, 0.3)
        with torch.no_grad():  # batch norms that do something: random statistics and affine
            for m in t.modules():
                if isinstance(m, torch.nn.BatchNorm2d):
                    m.running_mean.normal_(0, 0.5)
                    m.running_var.uniform_(0.5, 2.0)
                    m.weight.normal_(1, 0.2)
                    m.bias.normal_(0, 0.2)
        t.eval()
        x = torch.randn(6, 1, 49, 10)
        with tempfile.TemporaryDirectory() as tmp:
            distill.export(t, os.path.join(tmp, "teacher.onnx"), (1, 49, 10))
            os.replace(os.path.join(tmp, "teacher.onnx.tmp"), os.path.join(tmp, "teacher.onnx"))
            back = distill.teacher_from_onnx(nets.teacher((1, 49, 10), (8, 16), 13, 0.3), os.path.join(tmp, "teacher.onnx"))
            with self.assertRaisesRegex(Exception, "shape"):
                distill.teacher_from_onnx(nets.teacher((1, 49, 10), (8, 24), 13, 0.3), os.path.join(tmp, "teacher.onnx"))
        with torch.no_grad():
            self.assertLess(float((back(x) - t(x)).abs().max()), 1e-4)


class Backgrounds(unittest.TestCase):
    def test_the_background_goes_with_the_same_draws_as_augment(self):
        rng = np.random.default_rng(5)
        noises = [rng.normal(0, 500, 3 * kd.CLIP)]
        music = [rng.normal(0, 800, 3 * kd.CLIP)]
        clip = np.round(6000 * np.sin(2 * np.pi * 440 * np.arange(kd.CLIP) / kd.RATE)).astype(np.int16)
        seen = set()
        for seed in range(12):
            a = kd.augment(clip, np.random.default_rng(seed), noises, music)
            b, bg = kd.augment_with_background(clip, np.random.default_rng(seed), noises, music)
            np.testing.assert_array_equal(a, b)
            seen.add(bg)
            # Without a background the copy is the tone alone (speed 0.85-1.15: 374-506 Hz): no
            # energy far from it. A background at <= 20 dB SNR puts >= 1% of the tone's energy in
            # white noise, most of it far from the tone (1 Hz bins: the clip is 1 s).
            energy = np.abs(np.fft.rfft(b.astype(np.float64))) ** 2
            far = (energy[:200].sum() + energy[700:].sum()) / energy.sum()
            self.assertEqual(bg == "none", far < 0.003, (seed, bg, far))
        self.assertEqual(seen, {"none", "noise", "music"})

    def test_write_saves_a_code_per_row(self):
        clip = np.zeros(kd.CLIP, dtype=np.int16)
        rows = {"train": [(clip, "yes", 0, "a", "none"), (clip, "yes", 2, "a", "music"), (clip, "silence", 1, "noise", "noise")]}
        with tempfile.TemporaryDirectory() as tmp:
            meta = kd.write(rows, tmp, 1, tmp)
            self.assertEqual(np.load(os.path.join(tmp, "train_background.npy")).tolist(), [0, 2, 1])
        self.assertEqual(meta["splits"]["train"]["rowsByBackground"], {"none": 1, "noise": 1, "music": 1})


class Screen(unittest.TestCase):
    def test_detections_average_fire_and_debounce_like_the_router(self):
        # 200 hops of 20 ms from 1.0 s: silence, but "yes" at 1.0 for hops 10-19, "no" at 0.9 for
        # hops 100-129 and marvin at 0.75 for hops 150-160.
        times = np.arange(200) * 0.02 + 1.0
        p = np.zeros((200, len(LABELS)))
        p[:, 0] = 1.0
        for word, hops, level in (("yes", slice(10, 20), 1.0), ("no", slice(100, 130), 0.9), ("marvin", slice(150, 161), 0.75)):
            p[hops] = 0
            p[hops, LABELS.index(word)] = level
            p[hops, 0] = 1.0 - level
        # Smoothing 4 at 0.8: the mean over the last 4 hops reaches 3/4 at hop 12, 1.0 at hop 13;
        # "no" 0.9 * 4/4 first at hop 103 (0.675 at 102); marvin's 0.75 never reaches 0.8.
        d = ks.detections(times, p, LABELS, 4, 0.8)
        self.assertEqual([w for _, w in d], ["yes", "no"])
        self.assertAlmostEqual(d[0][0], 1.0 + 0.02 * 13)
        self.assertAlmostEqual(d[1][0], 1.0 + 0.02 * 103)
        # At 0.7: yes at hop 12 (0.75), no at hop 103 (3.06 s); marvin reaches 0.75 at hop 153
        # (4.06 s), exactly 1 s later: the debounce includes its end, so it fires at hop 154.
        d = ks.detections(times, p, LABELS, 4, 0.7)
        self.assertEqual([w for _, w in d], ["yes", "no", "marvin"])
        self.assertAlmostEqual(d[0][0], 1.0 + 0.02 * 12)
        self.assertAlmostEqual(d[2][0], 1.0 + 0.02 * 154)
        # A debounce of 3 s swallows the rest: no (3.06 s) and marvin's last hop (4.20 s) are within
        # 3 s of yes (1.24 s).
        self.assertEqual([w for _, w in ks.detections(times, p, LABELS, 4, 0.7, debounce_s=3.0)], ["yes"])

    def test_score_follows_mlperfs_streaming_rules(self):
        truth = [(1.0, 2.0, "yes"), (4.0, 5.0, "no"), (8.0, 9.0, "go")]
        dets = [(2.5, "yes"), (2.9, "yes"),   # both inside [1, 2 + 1]: one true positive, none left
                (4.5, "up"),                   # a wrong word: a false alarm
                (5.2, "up"),                   # within 1 s of the last: the same alarm
                (6.1, "no"),                   # past the window's end + 1 s: a false alarm, and a miss
                (12.0, "go"), (13.0, "go")]    # outside every window: two alarms (13 - 12 = 1 s: the same one)
        self.assertEqual(ks.score(truth, dets), (1, 2, 3))
        self.assertEqual(ks.score(truth, [(3.0, "yes")]), (1, 2, 0))  # the end + 1 s included

    def test_windows_are_the_clips_own_features(self):
        import audio_features
        spec = audio_features.default_spec("mfcc")
        x = np.random.default_rng(2).normal(0, 3000, 2 * kd.RATE).astype(np.int16)
        t, w = ks.windows(x, spec)
        for k in (0, 17, len(w) - 1):
            start = k * spec["hopSamples"]
            np.testing.assert_array_equal(w[k, 0], audio_features.features(x[start:start + kd.RATE], spec))
            self.assertAlmostEqual(t[k], (start + kd.RATE - 160) / kd.RATE)


if __name__ == "__main__":
    unittest.main()
