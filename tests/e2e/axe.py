"""axe-core in a Playwright page: the accessibility audit of the browser tests (issue 13).

axe-core comes from npm (package.json pins it; ``make test`` runs ``npm ci``) and is evaluated
from ``node_modules`` in the page under test through the DevTools protocol: the pages' own
Content-Security-Policy (``script-src 'self'``, no inline script) stays as it is and is not
bypassed — Playwright's ``add_script_tag`` would add an inline script, which it refuses. The audit
runs the WCAG 2.0, 2.1 and 2.2 A and AA rules; a serious or critical violation fails the test,
naming each rule, its help and the nodes it found.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

AXE_SCRIPT = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
FAILING_IMPACTS = frozenset({"serious", "critical"})


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """Every violation axe-core finds on the page as it stands (all impacts)."""
    if not AXE_SCRIPT.exists():
        raise RuntimeError(f"{AXE_SCRIPT} is missing: run `make test` (it runs `npm ci`)")
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_SCRIPT.read_text(encoding="utf-8"))
    options = {"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]}
    result = page.evaluate("options => axe.run(document, options)", options)
    violations: list[dict[str, Any]] = result["violations"]
    return violations


def describe(violations: list[dict[str, Any]]) -> str:
    """One line per violation and one per node: rule, impact, help, target, axe's summary."""
    lines = []
    for violation in violations:
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']}")
        for node in violation["nodes"]:
            summary = " ".join(node.get("failureSummary", "").split())
            lines.append(f"    {' > '.join(map(str, node['target']))}: {summary}")
    return "\n".join(lines)


def assert_no_serious_violations(page: Any, state: str) -> list[dict[str, Any]]:
    """Fail when axe-core finds a serious or critical violation; the others are returned."""
    violations = axe_violations(page)
    failing = [v for v in violations if v["impact"] in FAILING_IMPACTS]
    assert not failing, f"{state} ({page.url}):\n{describe(failing)}"
    return violations
