"""``make run``: the development server and an outbox worker side by side, one command.

Both are child processes (``flask run`` and ``flask outbox worker``). Ctrl-C (SIGINT) or SIGTERM
stops both, the worker after the message in hand; if either stops on its own, the other is
stopped too, and this exits with the first one's status. Not for production: there, run
gunicorn and ``flask outbox worker`` under a process manager (README, "Production").
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

STOP_TIMEOUT = 15.0  # seconds for a child to stop before it is killed


def _flask() -> str:
    return str(Path(sys.executable).parent / "flask")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", default="5000")
    args = parser.parse_args(argv)

    children = [
        subprocess.Popen([_flask(), "outbox", "worker"]),  # noqa: S603  (our own command line)
        subprocess.Popen(  # noqa: S603
            [_flask(), "run", "--host", args.host, "--port", args.port]
        ),
    ]
    stopping = False

    def stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    status = 0
    try:
        while not stopping:
            exited = [child for child in children if child.poll() is not None]
            if exited:
                status = exited[0].returncode or 0
                break
            time.sleep(0.2)
    finally:
        for child in children:
            if child.poll() is None:
                child.terminate()  # SIGTERM: the worker finishes the message in hand
        deadline = time.monotonic() + STOP_TIMEOUT
        for child in children:
            try:
                child.wait(max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
    return status


if __name__ == "__main__":
    sys.exit(main())
