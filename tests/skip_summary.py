"""A pytest plugin: what the run skipped, said once at the end, grouped by reason.

Each skip reason in this suite names what to set to run those tests (``TEST_DATABASE_URL``,
``TEST_REDIS_URL``, Chromium), so the summary is the to-do list for a full run. The usual
per-test skip lines are off (``-rfEX`` in pyproject.toml).
"""

from __future__ import annotations

from typing import Any

import pytest

SECTION = "what was skipped, and how to run it"


class SkipSummary:
    def __init__(self) -> None:
        self.reasons: dict[str, int] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.skipped and not hasattr(report, "wasxfail"):
            longrepr = report.longrepr
            reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
            reason = reason.removeprefix("Skipped: ")
            self.reasons[reason] = self.reasons.get(reason, 0) + 1

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.reasons:
            return
        terminalreporter.section(SECTION)
        for reason, count in sorted(self.reasons.items(), key=lambda item: -item[1]):
            terminalreporter.write_line(f"{count:5} skipped  {reason}")


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(SkipSummary(), "skip-summary")
