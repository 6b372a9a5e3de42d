import io
import unittest

from progress import Progress, line


class FakeStream(io.StringIO):
    def __init__(self, tty):
        super().__init__()
        self.tty = tty

    def isatty(self):
        return self.tty


class ProgressTest(unittest.TestCase):
    def test_terminal_gets_a_redrawn_line_with_rate_and_time_left(self):
        t = [0.0]
        s = FakeStream(True)
        p = Progress("[student] epoch 3/40", "batches", stream=s, clock=lambda: t[0])
        t[0] = 2.0
        p.update(50, 200)  # 25 batches/s, 150 left: 6 s
        t[0] = 2.05
        p.update(51, 200)  # within the redraw interval: not drawn
        t[0] = 8.0
        p.update(200, 200)
        p.end()
        self.assertEqual(s.getvalue(),
                         "\r[student] epoch 3/40  50/200 batches  25/s  0:06 left\x1b[K"
                         "\r[student] epoch 3/40  200/200 batches  25/s\x1b[K"
                         "\r\x1b[K")

    def test_nothing_when_not_a_terminal(self):
        s = FakeStream(False)
        p = Progress("x", "batches", stream=s, clock=lambda: 1.0)
        for i in range(10):
            p.update(i + 1, 10)
        p.end()
        self.assertEqual(s.getvalue(), "")

    def test_time_left_in_minutes(self):
        self.assertEqual(line("a", 10, 1210, "b", 10.0), "a  10/1210 b  1/s  20:00 left")


if __name__ == "__main__":
    unittest.main()
