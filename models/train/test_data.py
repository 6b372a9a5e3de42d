"""Data checks and augmentation."""

import json
import os
import sys
import tempfile
import unittest

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import data  # noqa: E402


def write_task(dirname, n=6, shape=(1, 8, 8), labels=("A", "B"), x_shape=None, count=None):
    meta = {"task": "t", "labels": list(labels), "input": {"shape": list(shape), "dtype": "float32"},
            "preprocessing": {}, "source": "test",
            "dataset": {s: (count or n) for s in data.SPLITS}}
    with open(os.path.join(dirname, "meta.json"), "w") as f:
        json.dump(meta, f)
    for s in data.SPLITS:
        np.save(os.path.join(dirname, f"{s}_x.npy"),
                np.zeros(x_shape or (n, *shape), np.float32))
        np.save(os.path.join(dirname, f"{s}_y.npy"), np.arange(n, dtype=np.int64) % len(labels))


class LoadTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.dir.cleanup()

    def test_loads_good_data(self):
        write_task(self.dir.name)
        meta, splits = data.load(self.dir.name, "t")
        self.assertEqual(meta["labels"], ["A", "B"])
        self.assertEqual(tuple(splits["val"][0].shape), (6, 1, 8, 8))

    def test_rejects_shape_count_task_and_missing_files(self):
        write_task(self.dir.name, x_shape=(6, 1, 8, 9))
        with self.assertRaisesRegex(data.DataError, "train_x.npy"):
            data.load(self.dir.name, "t")
        write_task(self.dir.name, count=7)
        with self.assertRaisesRegex(data.DataError, "dataset.train says 7"):
            data.load(self.dir.name, "t")
        with self.assertRaisesRegex(data.DataError, "not 'other'"):
            data.load(self.dir.name, "other")
        write_task(self.dir.name)
        os.remove(os.path.join(self.dir.name, "test_y.npy"))
        with self.assertRaisesRegex(data.DataError, "missing .*test_y.npy"):
            data.load(self.dir.name, "t")


class WeightsTest(unittest.TestCase):
    def test_inverse_frequency(self):
        w = data.class_weights(torch.tensor([0, 0, 0, 1]), 2)
        self.assertEqual([round(v, 4) for v in w.tolist()], [0.6667, 2.0])

    def test_absent_class_is_an_error(self):
        with self.assertRaisesRegex(data.DataError, r"\[2\]"):
            data.class_weights(torch.tensor([0, 1]), 3)


class D4Test(unittest.TestCase):
    def test_eight_distinct_views(self):
        a = torch.arange(9.).reshape(1, 1, 3, 3)
        self.assertEqual(len({tuple(data.d4(a, v).flatten().tolist()) for v in range(8)}), 8)

    def test_each_row_gets_its_own_view(self):
        g = torch.Generator().manual_seed(0)
        x = torch.randn(40, 2, 5, 5, generator=g)
        views = torch.randint(0, 8, (40,), generator=g)
        out = data.d4_each(x, views)
        for i in range(40):
            self.assertTrue(torch.equal(out[i], data.d4(x[i:i + 1], int(views[i]))[0]))


class SpecAugmentTest(unittest.TestCase):
    def test_masks_are_bands_of_the_row_mean_within_the_widths(self):
        g = torch.Generator().manual_seed(0)
        x = torch.randn(200, 1, 49, 10, generator=g) * 10 + torch.arange(10.)
        out = data.spec_augment(x, torch.Generator().manual_seed(1), time_masks=2, time_width=6,
                                freq_masks=1, freq_width=2)
        changed = (out != x)[:, 0]
        mean = x.mean(dim=2, keepdim=True).expand_as(x)
        self.assertTrue(torch.equal(out[out != x], mean[out != x]))
        for row in changed:
            full_t = row.all(dim=1)   # frames masked across every coefficient: time masks
            full_f = row.all(dim=0)   # coefficients masked across every frame: frequency masks
            self.assertLessEqual(int(full_t.sum()), 12)
            self.assertLessEqual(int(full_f.sum()), 2)
            # every changed cell lies in a masked frame or a masked coefficient
            self.assertTrue(torch.equal(row, full_t.view(-1, 1) | full_f.view(1, -1)))
        self.assertGreater(int(changed.flatten(1).any(dim=1).sum()), 150)  # most rows get a mask


if __name__ == "__main__":
    unittest.main()
