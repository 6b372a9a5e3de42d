"""distill.py --student-weight-decay X (tasks.py "student_weight_decay"): parsed over the task's
default (0: the student as shipped), given to AdamW in the student stage only (the teacher keeps
"teacher_weight_decay", QAT none), and checked against AdamW's decoupled decay written out here:
from the same weights and batch, the first step with decay X lands lr x X x w below the one
without."""
import unittest
from unittest import mock

import torch

import distill
import tasks


def cfg_of(*extra, task="keywords"):
    args = distill.parse_args(["--task", task, "--data", "d", "--out", "o", *extra])
    return args, distill.resolve(args)


def small_net(classes=3):
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, classes))


class Parsing(unittest.TestCase):
    def test_default_is_the_tasks_zero_and_the_option_overrides_it(self):
        self.assertEqual(tasks.TASKS["keywords"]["student_weight_decay"], 0.0)
        self.assertEqual(cfg_of()[1]["student_weight_decay"], 0.0)
        self.assertEqual(cfg_of("--student-weight-decay", "1e-3")[1]["student_weight_decay"], 1e-3)
        self.assertEqual(tasks.TASKS["keywords"]["student_weight_decay"], 0.0)  # the table is not mutated
        for task in ("cells-bccd", "alerts-transient"):
            self.assertEqual(cfg_of(task=task)[1].get("student_weight_decay", 0.0), 0.0)

    def test_negative_huge_and_non_finite_decays_refused(self):
        for bad in ("-1e-3", "1", "5", "nan", "inf"):
            with self.assertRaises(distill.UsageError, msg=bad):
                cfg_of(f"--student-weight-decay={bad}")
        with self.assertRaises(SystemExit), mock.patch("sys.stderr"):
            cfg_of("--student-weight-decay", "a lot")


class Stages(unittest.TestCase):
    n, batch, classes = 16, 8, 3

    def setUp(self):
        x = torch.randn(self.n, 1, 2, 2, generator=torch.Generator().manual_seed(1))
        y = torch.arange(self.n) % self.classes
        self.splits = {"train": (x, y), "val": (x[:6], y[:6])}

    def run_stage(self, stage, *extra):
        """Runs one epoch of `stage`; returns (weight decay and lr of every optimiser step, the
        first step's weights before and after, the stage's base lr)."""
        args, cfg = cfg_of("--student-epochs", "1", "--teacher-epochs", "1", "--qat-epochs", "1",
                           "--batch", str(self.batch), *extra)
        net = small_net(self.classes)
        steps, first, real_step = [], {}, torch.optim.AdamW.step

        def step(opt, *a, **k):
            group = opt.param_groups[0]
            steps.append((group["weight_decay"], group["lr"]))
            if not first:
                first["before"] = [p.detach().clone() for p in group["params"]]
            out = real_step(opt, *a, **k)
            if "after" not in first:
                first["after"] = [p.detach().clone() for p in group["params"]]
            return out

        with mock.patch.object(torch.optim.AdamW, "step", step), mock.patch("builtins.print"):
            if stage == "teacher":
                distill.train_teacher(args, cfg, net, self.splits, ["a", "b", "c"], torch.ones(self.classes))
            else:
                t_logits = torch.randn(distill.n_views(cfg), self.n, self.classes,
                                       generator=torch.Generator().manual_seed(2))
                distill.train_student(args, cfg, net, net, self.splits, ["a", "b", "c"],
                                      torch.ones(self.classes), t_logits, stage)
        return steps, first, cfg["lr"][stage], cfg

    def test_the_student_stage_gets_the_decay_qat_none_the_teacher_its_own(self):
        steps, _, _, cfg = self.run_stage("student", "--student-weight-decay", "1e-3")
        self.assertEqual(len(steps), self.n // self.batch)
        self.assertEqual({wd for wd, _ in steps}, {1e-3})
        steps, _, _, _ = self.run_stage("qat", "--student-weight-decay", "1e-3")
        self.assertEqual({wd for wd, _ in steps}, {0.0})
        steps, _, _, _ = self.run_stage("teacher", "--student-weight-decay", "1e-3")
        self.assertEqual({wd for wd, _ in steps}, {tasks.TASKS["keywords"]["teacher_weight_decay"]})
        steps, _, _, _ = self.run_stage("student")
        self.assertEqual({wd for wd, _ in steps}, {0.0})

    def test_the_first_step_decays_each_weight_by_lr_times_x(self):
        # Same weights, same batch: Adam's step is the same with and without the decay, so the
        # difference is AdamW's decoupled term alone, -lr x X x w (w: the weights before the step).
        x = 0.1
        _, plain, lr, _ = self.run_stage("student")
        _, decayed, _, _ = self.run_stage("student", "--student-weight-decay", str(x))
        for w0, p0, p1, w1 in zip(plain["before"], plain["after"], decayed["after"], decayed["before"]):
            torch.testing.assert_close(w1, w0, rtol=0, atol=0)
            torch.testing.assert_close((p1 - p0).double(), -lr * x * w0.double(), rtol=1e-3, atol=1e-7)
        self.assertGreater(float(plain["before"][0].abs().max()) * lr * x, 1e-6)  # a visible term


if __name__ == "__main__":
    unittest.main()
