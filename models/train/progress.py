"""A progress line for long loops: redrawn in place on a terminal, absent elsewhere.

The Python twin of host/src/cli/progress.ts: `make models` run from a terminal shows
where an epoch is; a log file or pipe gets only the one summary line per epoch.
"""

import sys
import time


class Progress:
    """One status line on `stream` (default stderr) when it is a terminal.

    `update(done, total)` redraws at most every `redraw_s` seconds (and always at
    the end) with the rate and the time left; `end()` erases the line so the
    caller's own line takes its place. Nothing is written when the stream is
    not a terminal.
    """

    def __init__(self, label, unit, stream=None, clock=time.monotonic, redraw_s=0.1):
        self.label, self.unit = label, unit
        self.stream = sys.stderr if stream is None else stream
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.clock, self.redraw_s = clock, redraw_s
        self.start = clock()
        self.drawn_at = None

    def update(self, done, total):
        if not self.tty:
            return
        now = self.clock()
        if self.drawn_at is not None and now - self.drawn_at < self.redraw_s and done < total:
            return
        self.drawn_at = now
        self.stream.write("\r" + line(self.label, done, total, self.unit, now - self.start) + "\x1b[K")
        self.stream.flush()

    def end(self):
        if self.drawn_at is not None:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
        self.drawn_at = None


def line(label, done, total, unit, elapsed_s):
    """`label  done/total unit  rate/s  m:ss left` (no time left once done)."""
    rate = done / elapsed_s if elapsed_s > 0 else 0.0
    text = f"{label}  {done}/{total} {unit}  {rate:.0f}/s"
    if rate > 0 and done < total:
        left = round((total - done) / rate)
        text += f"  {left // 60}:{left % 60:02d} left"
    return text
