"""The preprocessing reference against published figures and an independent resampler (PIL)."""

import json
import os
import sys
import tempfile
import unittest

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import preprocess_ref  # noqa: E402


def spec(frame, inp, dtype="float32", scale=1.0, mean=None, std=None):
    c = frame[2]
    return {"frame": {"shape": list(frame), "dtype": dtype}, "input": {"shape": list(inp)},
            "resize": "bilinear", "scale": scale,
            "mean": mean or [0.0] * c, "std": std or [1.0] * c}


class ResizeTest(unittest.TestCase):
    def test_half_pixel_upsample_matches_the_pytorch_docs_example(self):
        # torch.nn.Upsample docs, mode='bilinear', align_corners=False, input [[1,2],[3,4]].
        want = np.array([[1.0, 1.25, 1.75, 2.0],
                         [1.5, 1.75, 2.25, 2.5],
                         [2.5, 2.75, 3.25, 3.5],
                         [3.0, 3.25, 3.75, 4.0]], np.float32)
        raw = np.array([1, 2, 3, 4], np.float32).reshape(1, 2, 2, 1)
        got = preprocess_ref.preprocess(raw, spec((2, 2, 1), (1, 4, 4)))
        np.testing.assert_array_equal(got[0, 0], want)

    def test_upsampling_agrees_with_pil_bilinear(self):
        # PIL's bilinear filter has support 1 when enlarging, so it is the half-pixel
        # bilinear resize with edge clamping; it is written independently of torch. (When
        # shrinking it widens the filter, i.e. antialiases, so only enlarging compares.)
        # 1e-4: float32 rounding of values up to 255 (one ulp there is 1.5e-5).
        rng = np.random.default_rng(3)
        raw = rng.uniform(0, 255, (1, 7, 5, 1)).astype(np.float32)
        pil = np.asarray(Image.fromarray(raw[0, :, :, 0], mode="F").resize((13, 17), Image.BILINEAR))
        got = preprocess_ref.preprocess(raw, spec((7, 5, 1), (1, 17, 13)))
        np.testing.assert_allclose(got[0, 0], pil, rtol=0, atol=1e-4)

    def test_same_size_is_the_identity(self):
        raw = np.arange(4 * 6 * 3, dtype=np.uint8).reshape(1, 4, 6, 3)
        got = preprocess_ref.preprocess(raw, spec((4, 6, 3), (3, 4, 6), dtype="uint8"))
        np.testing.assert_array_equal(got[0], raw[0].transpose(2, 0, 1).astype(np.float32))


class ScaleTest(unittest.TestCase):
    def test_per_channel_standardisation_in_hwc_channel_order(self):
        raw = np.array([0, 255, 51], np.uint8).reshape(1, 1, 1, 3)
        s = spec((1, 1, 3), (3, 1, 1), dtype="uint8", scale=1 / 255,
                 mean=[0.5, 0.25, 0.2], std=[0.5, 0.25, 0.1])
        got = preprocess_ref.preprocess(raw, s)[0, :, 0, 0]
        # By hand: (0 - 0.5)/0.5, (1 - 0.25)/0.25, (0.2 - 0.2)/0.1.
        np.testing.assert_allclose(got, [-1.0, 3.0, 0.0], rtol=0, atol=1e-6)


class SpecTest(unittest.TestCase):
    def test_frames_that_do_not_fit_the_spec_are_refused(self):
        raw = np.zeros((2, 4, 4, 3), np.uint8)
        with self.assertRaisesRegex(preprocess_ref.SpecError, "spec says uint8"):
            preprocess_ref.preprocess(raw, spec((4, 4, 1), (1, 4, 4), dtype="uint8"))
        with self.assertRaisesRegex(preprocess_ref.SpecError, "spec says float32"):
            preprocess_ref.preprocess(raw, spec((4, 4, 3), (3, 4, 4)))
        bad = dict(spec((4, 4, 3), (3, 4, 4), dtype="uint8"), resize="nearest")
        with self.assertRaisesRegex(preprocess_ref.SpecError, "only 'bilinear'"):
            preprocess_ref.preprocess(raw, bad)


class CliTest(unittest.TestCase):
    def test_jobs_file_runs_every_job_and_reports_a_bad_one(self):
        with tempfile.TemporaryDirectory() as d:
            frames = os.path.join(d, "f.npy")
            np.save(frames, np.array([1, 2, 3, 4], np.uint8).reshape(1, 2, 2, 1))
            good = {"frames": frames, "spec": spec((2, 2, 1), (1, 4, 4), dtype="uint8"),
                    "out": os.path.join(d, "good.npy")}
            jobs = os.path.join(d, "jobs.json")
            with open(jobs, "w") as f:
                json.dump([good], f)
            self.assertEqual(preprocess_ref.main(["--jobs", jobs]), 0)
            self.assertEqual(np.load(good["out"]).shape, (1, 1, 4, 4))
            bad = dict(good, spec=spec((2, 2, 3), (3, 4, 4), dtype="uint8"),
                       out=os.path.join(d, "bad.npy"))
            with open(jobs, "w") as f:
                json.dump([bad], f)
            self.assertEqual(preprocess_ref.main(["--jobs", jobs]), 2)
            self.assertFalse(os.path.exists(bad["out"]))


if __name__ == "__main__":
    unittest.main()
