"""Run this folder's unittest suite and write one result per test as JSON.

The discovery is the one of `python3 -m unittest discover -p 'test_*.py'`; this script only
records each test's outcome, so `make test` (test/integration/python-train.test.ts) can
report every Python test as a test of its own. A module that fails to import (torch
missing, a syntax error) shows up as an errored test, as with unittest itself.

    /usr/bin/python3 models/train/run_tests.py --json results.json

Exit code 0 when every test passed, 1 otherwise.
"""

import argparse
import json
import os
import sys
import time
import traceback
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))


class JsonResult(unittest.TestResult):
    """Collects {id, outcome, detail, seconds} per test; a failed subtest fails its test."""

    def __init__(self):
        super().__init__()
        self.rows = {}
        self._started = {}

    def _set(self, test, outcome, detail=""):
        row = self.rows.setdefault(test.id(), {"id": test.id(), "outcome": "ok", "detail": ""})
        if outcome != "ok":
            row["outcome"], row["detail"] = outcome, (row["detail"] + "\n" + detail).strip()
        row["seconds"] = round(time.monotonic() - self._started.get(test.id(), time.monotonic()), 3)

    @staticmethod
    def _trace(err):
        return "".join(traceback.format_exception(*err))

    def startTest(self, test):
        super().startTest(test)
        self._started[test.id()] = time.monotonic()

    def addSuccess(self, test):
        self._set(test, "ok")

    def addFailure(self, test, err):
        self._set(test, "failed", self._trace(err))

    def addError(self, test, err):
        self._set(test, "error", self._trace(err))

    def addSkip(self, test, reason):
        self._set(test, "skipped", reason)

    def addExpectedFailure(self, test, err):
        self._set(test, "ok")

    def addUnexpectedSuccess(self, test):
        self._set(test, "failed", "unexpected success of a test marked expectedFailure")

    def addSubTest(self, test, subtest, err):
        if err is not None:
            kind = "failed" if issubclass(err[0], test.failureException) else "error"
            self._set(test, kind, f"{subtest.id()}:\n{self._trace(err)}")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--json", required=True, help="file to write the results to")
    args = p.parse_args(argv)
    # One torch thread that does not spin: the tests are small, and under vitest another
    # test file runs on the other core (two spinning threads must not share a core).
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    suite = unittest.defaultTestLoader.discover(HERE, pattern="test_*.py", top_level_dir=HERE)
    result = JsonResult()
    # Results go to a file, not stdout: tests may print.
    result.buffer = True
    suite.run(result)
    rows = sorted(result.rows.values(), key=lambda r: r["id"])
    with open(args.json, "w") as f:
        json.dump({"tests": rows}, f, indent=1)
    return 0 if rows and all(r["outcome"] == "ok" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
