"""`make test` says what it skipped and why once, at the end, not per test."""

from __future__ import annotations

import pytest

from .skip_summary import SECTION

pytest_plugins = ["pytester"]


def test_skips_are_summarised_once_by_reason(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.parametrize("n", range(3))
        def test_needs_postgres(n):
            pytest.skip("PostgreSQL tests: set TEST_DATABASE_URL")

        @pytest.mark.skipif(True, reason="Redis tests: set TEST_REDIS_URL")
        def test_needs_redis():
            pass

        def test_runs():
            assert True
        """
    )
    result = pytester.runpytest("-p", "tests.skip_summary", "-rfEX")

    result.assert_outcomes(passed=1, skipped=4)
    out = result.stdout.str()
    assert out.count(SECTION) == 1
    result.stdout.fnmatch_lines(
        [
            "*3 skipped  PostgreSQL tests: set TEST_DATABASE_URL",
            "*1 skipped  Redis tests: set TEST_REDIS_URL",
        ]
    )
    assert "SKIPPED [" not in out  # no per-test skip lines


def test_a_run_without_skips_says_nothing_about_them(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_runs():\n    assert True\n")
    result = pytester.runpytest("-p", "tests.skip_summary")

    result.assert_outcomes(passed=1)
    assert SECTION not in result.stdout.str()
