"""alerts_cutouts against by-hand values and numpy's own norm."""

import os
import sys
import unittest

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import alerts_cutouts  # noqa: E402


class CropNormaliseTest(unittest.TestCase):
    def test_a_3x3_stamp_padded_into_5_by_hand(self):
        s = np.array([[3, 0, 0], [0, 4, 0], [0, 0, np.nan]], np.float32)
        got = alerts_cutouts.crop_normalise(s, stamp_side=5, size=5)
        want = np.zeros((5, 5), np.float32)
        want[1, 1], want[2, 2] = 3 / 5, 4 / 5  # pad offset (5 - 3) // 2 = 1, norm sqrt(9 + 16)
        np.testing.assert_array_equal(got, want)

    def test_even_crop_of_an_odd_stamp_keeps_from_the_floor_of_half_the_difference(self):
        s = np.arange(49, dtype=np.float32).reshape(7, 7)
        got = alerts_cutouts.crop_normalise(s, stamp_side=7, size=4)
        x = s[1:5, 1:5].astype(np.float64)  # (7 - 4) // 2 = 1
        np.testing.assert_allclose(got, x / np.linalg.norm(x), rtol=1e-6)

    def test_larger_stamp_cropped_to_63_then_unit_norm(self):
        rng = np.random.default_rng(0)
        s = rng.normal(size=(70, 66)).astype(np.float32)
        s[0, 0] = np.inf
        got = alerts_cutouts.crop_normalise(s)
        self.assertEqual(got.shape, (63, 63))
        np.testing.assert_allclose(got[0], s[3, 1:64] / np.linalg.norm(s[3:66, 1:64].astype(np.float64)), rtol=1e-6)
        self.assertAlmostEqual(float(np.linalg.norm(got.astype(np.float64))), 1.0, places=6)

    def test_all_zero_and_all_nan_stay_zero(self):
        for s in (np.zeros((63, 63)), np.full((63, 63), np.nan)):
            np.testing.assert_array_equal(alerts_cutouts.crop_normalise(s, size=21), np.zeros((21, 21), np.float32))

    def test_triplet_is_chw_in_science_template_difference_order(self):
        a, b, c = (np.full((63, 63), v, np.float32) for v in (1.0, -2.0, 0.0))
        t = alerts_cutouts.cutout_triplet(a, b, c, size=3)
        self.assertEqual(t.shape, (3, 3, 3))
        np.testing.assert_allclose(t[:, 0, 0], [1 / 3, -1 / 3, 0], rtol=1e-6)

    def test_size_above_stamp_is_refused(self):
        with self.assertRaises(ValueError):
            alerts_cutouts.crop_normalise(np.zeros((63, 63)), stamp_side=63, size=64)


if __name__ == "__main__":
    unittest.main()
