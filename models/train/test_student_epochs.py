"""distill.py --student-epochs N: parsed over the task's "epochs" (the default unchanged) and, in
the student stage, the length of the cosine schedule, checked step by step against the cosine
0.5 lr (1 + cos(pi s / S)) written out here, S = N epochs x batches per epoch."""
import math
import unittest
from unittest import mock

import torch

import distill
import tasks


def cfg_of(*extra, task="keywords"):
    args = distill.parse_args(["--task", task, "--data", "d", "--out", "o", *extra])
    return args, distill.resolve(args)


class Parsing(unittest.TestCase):
    def test_default_is_the_tasks_and_the_option_overrides_only_the_student(self):
        _, cfg = cfg_of()
        self.assertEqual(cfg["epochs"], tasks.TASKS["keywords"]["epochs"])
        _, cfg = cfg_of("--student-epochs", "100")
        want = dict(tasks.TASKS["keywords"]["epochs"], student=100)
        self.assertEqual(cfg["epochs"], want)
        self.assertNotEqual(tasks.TASKS["keywords"]["epochs"]["student"], 100)  # the table is not mutated

    def test_fewer_than_one_epoch_and_non_integers_refused(self):
        for bad in ("0", "-3"):
            with self.assertRaises(distill.UsageError):
                cfg_of("--student-epochs", bad)
        with self.assertRaises(SystemExit), mock.patch("sys.stderr"):
            cfg_of("--student-epochs", "1.5")

    def test_the_final_fits_epoch_is_checked_against_the_new_schedule(self):
        # fit_student_epoch (39) lies inside 60 but not inside 20 epochs.
        with self.assertRaises(distill.UsageError):
            cfg_of("--fit", "train+validation", "--student-epochs", "20")
        args, cfg = cfg_of("--fit", "train+validation", "--student-epochs", "100", "--fit-epoch", "90")
        self.assertEqual((cfg["epochs"]["student"], args.fit_epoch), (100, 90))


class ScheduleLength(unittest.TestCase):
    def lrs_of_student_stage(self, epochs, n=20, batch=8, classes=3):
        args, cfg = cfg_of("--student-epochs", str(epochs), "--batch", str(batch))
        torch.manual_seed(0)
        net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, classes))
        x = torch.randn(n, 1, 2, 2, generator=torch.Generator().manual_seed(1))
        y = torch.arange(n) % classes
        splits = {"train": (x, y), "val": (x[:6], y[:6])}
        t_logits = torch.randn(distill.n_views(cfg), n, classes, generator=torch.Generator().manual_seed(2))
        lrs, real_step = [], torch.optim.AdamW.step

        def step(opt, *a, **k):
            lrs.append(opt.param_groups[0]["lr"])
            return real_step(opt, *a, **k)

        with mock.patch.object(torch.optim.AdamW, "step", step), mock.patch("builtins.print"):
            distill.train_student(args, cfg, net, net, splits, ["a", "b", "c"], torch.ones(classes),
                                  t_logits, "student")
        return lrs, cfg["lr"]["student"], math.ceil(n / batch)

    def test_the_cosine_stretches_over_the_epochs_given(self):
        for epochs in (2, 5):
            lrs, base, per_epoch = self.lrs_of_student_stage(epochs)
            total = epochs * per_epoch
            self.assertEqual(len(lrs), total)
            for s, lr in enumerate(lrs):
                self.assertAlmostEqual(lr, 0.5 * base * (1 + math.cos(math.pi * s / total)), places=12)
        # Twice the epochs: the same learning rate is reached twice as many steps in.
        short, _, _ = self.lrs_of_student_stage(3)
        long, _, _ = self.lrs_of_student_stage(6)
        for s, lr in enumerate(short):
            self.assertAlmostEqual(long[2 * s], lr, places=12)


if __name__ == "__main__":
    unittest.main()
