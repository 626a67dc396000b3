"""Run the Python tests and report each one as a JSON line, for test/python.test.ts:

    RNNLM_TEST {"id": "tests.test_x.Case.test_y", "status": "pass|fail|error|skip", "message": "...", "seconds": 0.12}

then ``RNNLM_DONE {"count": n}``. Exit status 0 when nothing failed. Run from python/:
``python3 -m tests.run_json [pattern]`` (pattern: unittest's -k substring).
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
import unittest
from typing import Any, Dict, List


def _emit(obj: Dict[str, Any], tag: str = "RNNLM_TEST") -> None:
    sys.__stdout__.write(f"{tag} {json.dumps(obj)}\n")
    sys.__stdout__.flush()


class JsonResult(unittest.TestResult):
    """Emits one line per test as it finishes."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0
        self.t0 = 0.0

    def startTest(self, test: unittest.TestCase) -> None:
        super().startTest(test)
        self.t0 = time.monotonic()

    def _report(self, test: unittest.TestCase, status: str, message: str = "") -> None:
        self.count += 1
        _emit({"id": test.id(), "status": status, "message": message, "seconds": round(time.monotonic() - self.t0, 3)})

    def addSuccess(self, test: unittest.TestCase) -> None:
        super().addSuccess(test)
        self._report(test, "pass")

    def addFailure(self, test: unittest.TestCase, err: Any) -> None:
        super().addFailure(test, err)
        self._report(test, "fail", "".join(traceback.format_exception(*err))[-4000:])

    def addError(self, test: unittest.TestCase, err: Any) -> None:
        super().addError(test, err)
        self._report(test, "error", "".join(traceback.format_exception(*err))[-4000:])

    def addSkip(self, test: unittest.TestCase, reason: str) -> None:
        super().addSkip(test, reason)
        self._report(test, "skip", reason)

    def addSubTest(self, test: unittest.TestCase, subtest: unittest.TestCase, err: Any) -> None:
        super().addSubTest(test, subtest, err)
        if err is not None:  # a failing subtest is reported on its own; its test then reports nothing
            status = "fail" if issubclass(err[0], test.failureException) else "error"
            self._report(subtest, status, "".join(traceback.format_exception(*err))[-4000:])

    def addExpectedFailure(self, test: unittest.TestCase, err: Any) -> None:
        super().addExpectedFailure(test, err)
        self._report(test, "fail", "expected failure: tests here do not use expectedFailure")

    def addUnexpectedSuccess(self, test: unittest.TestCase) -> None:
        super().addUnexpectedSuccess(test)
        self._report(test, "fail", "unexpected success")


def main(argv: List[str]) -> int:
    here = os.path.dirname(os.path.abspath(__file__))
    loader = unittest.TestLoader()
    if argv:
        loader.testNamePatterns = [f"*{p}*" for p in argv]
    suite = loader.discover(here, pattern="test_*.py", top_level_dir=os.path.dirname(here))
    result = JsonResult()
    suite.run(result)  # errors outside a test (setUpClass, a module that fails to import) come through addError too
    _emit({"count": result.count}, "RNNLM_DONE")
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
