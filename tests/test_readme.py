"""README's examples run as pasted, against a live server, so they cannot go stale.

Every ``sh`` block of README that calls ``curl`` carries an HTML comment right above it,
``<!-- expect: 201 -->``, with the status each of its calls must answer, in order. The test
runs README's own key-creation block (``.venv/bin/flask api-keys create``, as a reader would)
and then every such block, in README's order, in one bash session (so ``$KEY`` carries over),
against a server on a free port with a fresh database and the demo catalog. Only the host
and port are rewritten.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask_migrate import upgrade
from werkzeug.serving import make_server

from latepoint_forms import create_app
from latepoint_forms.extensions import db

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCUMENTED_BASE = "http://127.0.0.1:5000"
STATUS_MARK = "@@status "
BLOCK = re.compile(r"(?:<!-- expect: ([\d ]+) -->\n)?```sh\n(.*?)```", re.S)


def readme_blocks() -> list[tuple[list[int] | None, str]]:
    return [
        ([int(s) for s in expect.split()] if expect else None, body)
        for expect, body in BLOCK.findall(README.read_text(encoding="utf-8"))
    ]


def curl_calls(body: str) -> int:
    return len(re.findall(r"(?m)^\s*curl\s", body)) + len(re.findall(r"\$\(curl\s", body))


def test_every_curl_example_says_what_it_answers() -> None:
    blocks = [(expect, body) for expect, body in readme_blocks() if "curl " in body]

    assert len(blocks) >= 7
    for expect, body in blocks:
        assert expect is not None, f"no <!-- expect: … --> above:\n{body}"
        assert len(expect) == curl_calls(body), f"one status per curl call:\n{body}"


@pytest.fixture
def demo_server(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(base URL, DATABASE_URL): a migrated SQLite file with the demo catalog, served."""
    database = f"sqlite:///{tmp_path / 'readme.sqlite3'}"
    app = create_app({"ENV_NAME": "development", "SQLALCHEMY_DATABASE_URI": database})
    with app.app_context():
        upgrade()
    demo = ROOT / "latepoint_forms" / "catalog" / "demo.toml"
    loaded = app.test_cli_runner().invoke(args=["catalog", "load", str(demo)])
    assert loaded.exit_code == 0, loaded.output
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="readme-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", database
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        with app.app_context():
            db.engine.dispose()


@pytest.mark.skipif(
    not (shutil.which("curl") and shutil.which("bash")), reason="README tests: install curl"
)
def test_readme_api_examples_answer_as_documented(demo_server: tuple[str, str]) -> None:
    base, database = demo_server
    blocks = readme_blocks()
    [key_block] = [body for _, body in blocks if body.startswith("KEY=$(")]
    examples = [(expect, body) for expect, body in blocks if expect is not None]
    expected = [status for statuses, _ in examples for status in statuses or []]
    script = "\n".join(
        [
            "set -euo pipefail",
            # Every curl call also prints its status on a line of its own.
            f"curl() {{ command curl -w '\\n{STATUS_MARK}%{{http_code}}\\n' \"$@\"; }}",
            key_block,
            *(body.replace(DOCUMENTED_BASE, base) for _, body in examples),
        ]
    )
    venv_bin = str(Path(sys.executable).parent)
    environment = {
        **os.environ,
        "DATABASE_URL": database,
        "LATEPOINT_ENV": "development",
        "PATH": f"{venv_bin}:{os.environ.get('PATH', '')}",
    }
    environment.pop("FLASK_APP", None)  # a fresh shell has none: flask finds app.py itself
    if not (ROOT / ".venv" / "bin" / "flask").exists():
        pytest.skip("README tests: run `make install` first (README calls .venv/bin/flask)")

    result = subprocess.run(
        ["bash", "-c", script],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    statuses = [
        int(line[len(STATUS_MARK) :])
        for line in result.stdout.splitlines()
        if line.startswith(STATUS_MARK)
    ]
    assert statuses == expected, result.stdout
