"""The final fit on train + validation speakers (distill.py --fit train+validation, issue 11): the
validation clips' augmented copies (keywords_data.validation_copies), the rows fitted on and the
extra teacher's rows over several splits, a student epoch kept without validation choosing it
(train.fit keep_epoch), and the options that cannot work."""
import os
import tempfile
import types
import unittest

import numpy as np
import torch

import distill
import keywords_data as kd
import train

LABELS = ["a", "b", "c"]


class ValidationCopies(unittest.TestCase):
    def test_copies_of_the_real_clips_only_seeded_apart_from_everything_else(self):
        rng = np.random.default_rng(3)
        noises = [rng.normal(0, 400, 3 * kd.CLIP)]
        tone = np.round(5000 * np.sin(2 * np.pi * 300 * np.arange(kd.CLIP) / kd.RATE)).astype(np.int16)
        val = [(tone, "yes", 0, "spk1", "none"), (tone, "yes", 1, "en-us+m1", "noise"),
               (tone // 2, "marvin", 0, "spk2", "none")]
        rows = kd.validation_copies(val, 1, 2, 3, noises, noises)
        # 2 copies of the real "yes", 3 of the real marvin, none of the synthetic row.
        self.assertEqual([(r[1], r[2], r[3]) for r in rows], [("yes", 2, "spk1")] * 2 + [("marvin", 2, "spk2")] * 3)
        self.assertTrue(all(r[4] in kd.BACKGROUNDS and r[0].dtype == np.int16 and len(r[0]) == kd.CLIP for r in rows))
        again = kd.validation_copies(val, 1, 2, 3, noises, noises)
        self.assertTrue(all(np.array_equal(a[0], b[0]) for a, b in zip(rows, again)))
        # Their own stream: the same draws as augmented() from default_rng([seed, 2]).
        want = kd.augmented([val[0]], 2, np.random.default_rng([1, 2]), noises, noises)
        np.testing.assert_array_equal(rows[0][0], want[0][0])
        np.testing.assert_array_equal(rows[1][0], want[1][0])


def write_split(tmp, split, n, kinds, background, label_offset=0):
    x = np.full((n, 1, 49, 10), float(label_offset), dtype=np.float32)
    np.save(os.path.join(tmp, f"{split}_x.npy"), x)
    np.save(os.path.join(tmp, f"{split}_y.npy"), (np.arange(n) + label_offset) % 3)
    np.save(os.path.join(tmp, f"{split}_synthetic.npy"), np.array(kinds, dtype=np.int8))
    np.save(os.path.join(tmp, f"{split}_background.npy"), np.array(background, dtype=np.int8))
    probs = np.zeros((n, 3), dtype=np.float32)
    probs[:, label_offset % 3] = 1.0
    np.save(os.path.join(tmp, f"{split}_matchboxnet.npy"), probs)
    return torch.from_numpy(x), torch.from_numpy(((np.arange(n) + label_offset) % 3).astype(np.int64))


class FitRows(unittest.TestCase):
    def test_train_then_validation_then_its_copies_with_their_codes_in_the_same_order(self):
        with tempfile.TemporaryDirectory() as tmp:
            splits = {"train": write_split(tmp, "train", 4, [0, 1, 2, 1], [0, 1, 2, 0]),
                      "val": write_split(tmp, "val", 3, [0, 1, 1], [0, 2, 1], 1)}
            write_split(tmp, "val_augmented", 2, [2, 2], [0, 1], 2)
            args = types.SimpleNamespace(data=tmp, fit="train", temperature=4.0)
            self.assertIs(distill.fit_rows(args, splits), splits["train"])
            args.fit = "train+validation"
            x, y = distill.fit_rows(args, splits)
            self.assertEqual(x[:, 0, 0, 0].tolist(), [0.0] * 4 + [1.0] * 3 + [2.0] * 2)
            self.assertEqual(y.tolist(), [0, 1, 2, 0, 1, 2, 0, 2, 0])
            fit = distill.FITS["train+validation"]
            self.assertEqual(distill.extra_teacher_rows(tmp, "real", fit).tolist(),
                             [1, 0, 1, 0, 1, 0, 0, 1, 1])
            self.assertEqual(distill.extra_teacher_rows(tmp, "clean", fit).tolist(),
                             [1, 0, 0, 0, 1, 0, 0, 1, 0])
            # The extra teacher's probabilities follow the same rows: a row of each split keeps its own.
            t_logits = torch.zeros(1, 9, 3)
            mixed = distill.extra_teacher_logits(
                args, {"file": "train_matchboxnet.npy", "weight": 1.0, "rows": "real"}, t_logits)
            real = [0, 2, 4, 7, 8]
            self.assertEqual(mixed[0, real].argmax(1).tolist(), [0, 0, 1, 2, 2])
            others = [1, 3, 5, 6]  # the CNN teacher's (uniform) targets alone
            torch.testing.assert_close(mixed[0, others], mixed[0, others, :1].expand(-1, 3))
            os.remove(os.path.join(tmp, "val_augmented_x.npy"))
            with self.assertRaisesRegex(distill.data.DataError, "val_augmented_x.npy"):
                distill.fit_rows(args, splits)

    def test_a_final_fit_needs_a_student_epoch_in_the_schedule_and_no_qat(self):
        def resolve(*extra):
            return distill.resolve(distill.parse_args(["--task", "keywords", "--data", "d", "--out", "o", *extra]))
        args = distill.parse_args(["--task", "keywords", "--data", "d", "--out", "o", "--fit", "train+validation"])
        distill.resolve(args)
        self.assertEqual(args.fit_epoch, distill.tasks.TASKS["keywords"]["fit_student_epoch"])
        with self.assertRaisesRegex(distill.UsageError, "--fit-epoch"):
            resolve("--fit-epoch", "3")
        past = distill.tasks.TASKS["keywords"]["epochs"]["student"] + 1
        with self.assertRaisesRegex(distill.UsageError, f"student epoch {past}"):
            resolve("--fit", "train+validation", "--fit-epoch", str(past))
        with self.assertRaisesRegex(distill.UsageError, "QAT"):
            resolve("--fit", "train+validation", "--qat-epochs", "2")


class SeedAndThreads(unittest.TestCase):
    def test_the_task_sets_the_default_seed_and_threads_and_the_options_win(self):
        def resolved(*extra):
            args = distill.parse_args(["--task", "keywords", "--data", "d", "--out", "o", *extra])
            return args, distill.resolve(args)
        task = distill.tasks.TASKS["keywords"]
        args, cfg = resolved()
        self.assertEqual(args.seed, task["seed"])
        self.assertEqual(resolved("--seed", "0")[0].seed, 0)
        args, cfg = resolved()
        saved = distill.THREADS
        try:
            distill.THREADS = None
            self.assertEqual(distill.torch_threads(cfg), task["threads"])
            self.assertEqual(distill.torch_threads({}), 2)
            distill.THREADS = 3  # HT_TORCH_THREADS=3
            self.assertEqual(distill.torch_threads(cfg), 3)
        finally:
            distill.THREADS = saved
        cells = distill.parse_args(["--task", "cells-bccd", "--data", "d", "--out", "o"])
        distill.resolve(cells)
        self.assertEqual(cells.seed, 0)


class ClassWeightScale(unittest.TestCase):
    def test_a_label_scales_only_its_own_cross_entropy_weight_and_bad_values_are_named(self):
        def resolved(*extra):
            return distill.resolve(distill.parse_args(["--task", "keywords", "--data", "d", "--out", "o", *extra]))
        task_scale = distill.tasks.TASKS["keywords"].get("ce_class_scale", {})
        self.assertEqual(resolved()["ce_class_scale"], task_scale)
        scale = resolved("--class-weight", "unknown=2", "--class-weight", "go=0.5")["ce_class_scale"]
        self.assertEqual(scale, {**task_scale, "unknown": 2.0, "go": 0.5})
        labels = ["silence", "unknown", "go"]
        y = torch.tensor([0, 1, 1, 1, 2, 2])
        base = distill.data.class_weights(y, 3)  # 6 / (3 * count): 2, 2/3, 1
        torch.testing.assert_close(base, torch.tensor([2.0, 2 / 3, 1.0]))
        out = distill.scaled_class_weights(base, labels, {"unknown": 2.0, "go": 0.5})
        torch.testing.assert_close(out, torch.tensor([2.0, 4 / 3, 0.5]))
        torch.testing.assert_close(base, torch.tensor([2.0, 2 / 3, 1.0]))  # not changed in place
        # The weighted cross entropy: a row of the scaled label counts that many times more.
        logits = torch.tensor([[0.3, -0.2, 0.1]])
        plain = torch.nn.functional.cross_entropy(logits, torch.tensor([1]), reduction="sum")
        weighted = torch.nn.functional.cross_entropy(logits, torch.tensor([1]), weight=out, reduction="sum")
        torch.testing.assert_close(weighted, plain * 4 / 3)
        with self.assertRaisesRegex(distill.UsageError, "'nope'"):
            distill.scaled_class_weights(base, labels, {"nope": 2.0})
        for bad in ("unknown", "unknown=", "=2", "unknown=x", "unknown=0", "unknown=-1", "unknown=nan"):
            with self.assertRaisesRegex(distill.UsageError, "--class-weight"):
                resolved("--class-weight", bad)


class KeepEpoch(unittest.TestCase):
    def test_the_kept_epoch_is_that_epoch_of_the_whole_schedule_and_the_loop_stops_there(self):
        def run(keep, spy=None, epochs=5):
            torch.manual_seed(0)
            model = torch.nn.Linear(4, 3)
            g = torch.Generator().manual_seed(1)
            x, y = torch.randn(32, 4, generator=g), torch.randint(0, 3, (32,), generator=g)
            calls = []

            def loss_fn(out, idx, views):
                calls.append(1)
                if spy is not None:
                    spy(model, len(calls))
                return torch.nn.functional.cross_entropy(out, y[idx])
            out = train.fit("t", model, model, loss_fn, x, (x, y), LABELS, epochs, 0.1, 8,
                            torch.Generator().manual_seed(2), n_views=1, keep_epoch=keep)
            return out, len(calls)

        (kept, epoch, _), calls = run(2)
        self.assertEqual((epoch, calls), (2, 8))  # 4 batches an epoch, stopped after the second
        # The same schedule uninterrupted: the weights when the third epoch's first batch comes.
        seen = {}

        def spy(model, n):
            if n == 9:
                seen.update({k: v.clone() for k, v in model.state_dict().items()})
        run(None, spy)
        for k, v in kept.state_dict().items():
            torch.testing.assert_close(v, seen[k], rtol=0, atol=0)
        # The last epoch of a 2-epoch schedule is elsewhere (its learning rate decays to 0 by then).
        (short, _, _), _ = run(2, epochs=2)
        self.assertFalse(torch.equal(short.weight, kept.weight))

if __name__ == "__main__":
    unittest.main()
