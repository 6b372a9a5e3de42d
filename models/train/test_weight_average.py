"""The student's exponential moving average of weights (train.WeightAverage, train.fit ema_decay,
distill.py --student-ema / tasks.py "student_ema"), checked against the weighted mean of the
weights recorded after every optimiser step, computed here from its definition."""
import unittest
from unittest import mock

import torch

import distill
import train


def small_net():
    torch.manual_seed(5)
    return torch.nn.Sequential(torch.nn.Conv2d(1, 3, 3), torch.nn.BatchNorm2d(3), torch.nn.ReLU(),
                               torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(3, 2))


def explicit_average(snapshots, decay):
    """sum_s (1 - d) d^(t - s) w_s / sum_s (1 - d) d^(t - s), term by term in float64."""
    t = len(snapshots)
    weights = [(1 - decay) * decay ** (t - s) for s in range(1, t + 1)]
    total = sum(weights)
    return {k: sum(w * snap[k].double() for w, snap in zip(weights, snapshots)) / total
            for k in snapshots[0] if snapshots[0][k].is_floating_point()}


class WeightAverageTest(unittest.TestCase):
    def test_debiased_mean_of_the_trajectory_buffers_included_integers_as_they_are(self):
        net = small_net()
        avg = train.WeightAverage(net, 0.9)
        snaps = []
        gen = torch.Generator().manual_seed(1)
        for step in range(7):
            with torch.no_grad():
                for p in net.parameters():
                    p.add_(torch.randn(p.shape, generator=gen))
            net.train()
            net(torch.randn(4, 1, 6, 6, generator=gen))  # moves the batch-norm running stats
            avg.update(net)
            snaps.append({k: v.clone() for k, v in net.state_dict().items()})
        got = avg.state_dict(net)
        want = explicit_average(snaps, 0.9)
        self.assertIn("1.running_var", want)
        for k, v in want.items():
            torch.testing.assert_close(got[k].double(), v, rtol=1e-6, atol=1e-6)
        self.assertEqual(int(got["1.num_batches_tracked"]), 7)
        # One update: the weights themselves (no weight left on anything before).
        one = train.WeightAverage(net, 0.999)
        one.update(net)
        for k, v in one.state_dict(net).items():
            torch.testing.assert_close(v, net.state_dict()[k])
        for bad in (0.0, 1.0, -0.5):
            with self.assertRaises(ValueError):
                train.WeightAverage(net, bad)


class FitWithAverage(unittest.TestCase):
    def run_fit(self, ema_decay):
        net = small_net()
        gen = torch.Generator().manual_seed(2)
        x = torch.randn(40, 1, 6, 6, generator=torch.Generator().manual_seed(3))
        y = (x.mean(dim=(1, 2, 3)) > 0).long()
        val = (x[:16] + 0.3, y[:16])
        snaps, validated = [], []
        real_step = torch.optim.AdamW.step

        def step(opt, *a, **k):
            out = real_step(opt, *a, **k)
            snaps.append({k2: v.clone() for k2, v in net.state_dict().items()})
            return out

        def forward(inp):
            if not net.training and len(inp) == len(val[0]):
                validated.append({k: v.clone() for k, v in net.state_dict().items()})
            return net(inp)

        def loss_fn(out, idx, views):
            return torch.nn.functional.cross_entropy(out, y[idx])

        with mock.patch.object(torch.optim.AdamW, "step", step):
            model, best, m = train.fit("t", net, forward, loss_fn, x, val, ["a", "b"], 4, 0.05, 8, gen,
                                       n_views=1, ema_decay=ema_decay)
        self.val = val
        return model, best, m, snaps, validated

    def test_the_average_is_validated_and_kept_and_training_is_unchanged(self):
        plain = self.run_fit(None)
        model, best, m, snaps, validated = self.run_fit(0.8)
        self.assertEqual(len(snaps), 4 * 5)
        # The training trajectory is the same as without the average.
        for a, b in zip(snaps, plain[3]):
            for k in a:
                torch.testing.assert_close(a[k], b[k], rtol=0, atol=0)
        # Each epoch validated the average of the steps so far, and the kept model is the best one.
        for epoch, state in enumerate(validated, 1):
            want = explicit_average(snaps[:5 * epoch], 0.8)
            for k, v in want.items():
                torch.testing.assert_close(state[k].double(), v, rtol=1e-5, atol=1e-6)
        self.assertGreater(float((validated[-1]["5.weight"] - snaps[-1]["5.weight"]).abs().max()), 1e-4)
        kept = model.state_dict()
        for k, v in validated[best - 1].items():
            torch.testing.assert_close(kept[k], v, rtol=0, atol=0)
        with torch.no_grad():
            pred = model(self.val[0]).argmax(1)
        self.assertAlmostEqual(float((pred == self.val[1]).float().mean()), m["accuracy"])
        self.assertFalse(model.training)


class Options(unittest.TestCase):
    def cfg(self, *extra, task="keywords"):
        return distill.resolve(distill.parse_args(["--task", task, "--data", "d", "--out", "o", *extra]))

    def test_off_by_default_on_by_option_and_bad_decays_refused(self):
        self.assertIsNone(self.cfg().get("student_ema"))
        self.assertEqual(self.cfg("--student-ema", "0.998")["student_ema"], 0.998)
        self.assertIsNone(self.cfg("--student-ema", "0")["student_ema"])
        for bad in ("1", "1.5", "-0.1"):
            with self.assertRaises(distill.UsageError):
                self.cfg("--student-ema", bad)
        for task in ("cells-bccd", "alerts-transient"):
            self.assertIsNone(self.cfg(task=task).get("student_ema"))


if __name__ == "__main__":
    unittest.main()
