"""Black-box benchmark: the project under gunicorn against a floor app, driven by wrk.

For SQLite (a fresh file migrated with the project's migrations) and, when
``TEST_DATABASE_URL`` is set, a scratch PostgreSQL database:

- the project as production serves it (``gunicorn.conf.py``, 2 workers, ``LATEPOINT_ENV=
  production``; only the access log is off, see ``gunicorn_bench.conf.py``; the rate limit is
  raised so it never refuses, and stays in the path) and the floor app (``floor_app.py``,
  gunicorn with 2 sync workers) on the same database;
- wrk (8 connections) creates a new customer with every request (``create_customers.lua``:
  unique email, phone, country, postcode); floor and app rounds alternate, so the machine's
  noise hits both alike; every response must be a 201, and a round with anything else is
  flagged;
- printed: creates/s of each round, the medians and app/floor (target >= 0.6). Each round
  also prints the cores used by the server, by wrk and by everything else (a busy machine
  shows), and once per database the floor's ``/echo`` (the same requests, no database) shows
  what wrk and gunicorn can carry: the floor is not capped by the load generator.

Then, on the first database, the RSS of one project worker (VmRSS from /proc) after 1,000 ...
50,000 creates, with worker recycling switched off for that run only (``--max-requests 0``)
and one worker, so every request reaches the process measured (target: <= 1.1 x). The run
has ``--rss-seconds`` (240) at most, and says INCOMPLETE when that is not enough.

    python -m bench.blackbox                       # what ``make bench`` runs
    python -m bench.blackbox --profile /tmp        # also py-spy a worker under load

Every server runs in its own process group and is stopped (TERM, then KILL) on the way out,
whatever happens.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import resource
import secrets
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from bench.floor_app import create_table, engine_url, project_sqlite_pragmas
from bench.profile_summary import summarise

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
LUA = ROOT / "bench" / "create_customers.lua"
GUNICORN_CONF = ROOT / "bench" / "gunicorn_bench.conf.py"
FLOOR_CONF = ROOT / "bench" / "gunicorn_floor.conf.py"
APP_PATH = "/api/v1/customers"

WORKERS = 2
CONNECTIONS = 8
WRK_THREADS = 2
TARGET_RATIO = 0.6
TARGET_RSS = 1.1
RSS_CHECKPOINTS = (1_000, 10_000, 25_000, 50_000)
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
CPUS = os.cpu_count() or 1


# ---------------------------------------------------------------------------- processes


@dataclass
class Server:
    """A gunicorn master in its own process group, with its log in a file."""

    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def worker_pids(self) -> list[int]:
        """The master's children: its workers (from /proc, which every Linux has)."""
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # "pid (comm) state ppid ...": comm may hold spaces, so split after its ")".
            if int(stat.rsplit(")", 1)[1].split()[1]) == self.process.pid:
                pids.append(int(entry.name))
        return sorted(pids)

    def cpu_seconds(self) -> float:
        """CPU used so far by the master and its workers, live or already reaped."""
        ticks = 0
        for pid in [self.process.pid, *self.worker_pids()]:
            with contextlib.suppress(OSError):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                # utime, stime (fields 14, 15), and for the master cutime, cstime: the
                # workers it has reaped (recycled during the round).
                ticks += sum(int(v) for v in fields[11 : 15 if pid == self.process.pid else 13])
        return ticks / CLOCK_TICKS

    def log_tail(self, lines: int = 15) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def gunicorn(
    name: str, args: list[str], env: dict[str, str], port: int, logs: Path, workers: int
) -> Iterator[Server]:
    log = logs / f"{name}-{port}.log"
    ready = Path(tempfile.mkdtemp(prefix=f"ready-{name}-", dir=logs))
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603  (our own command line)
            [str(BIN / "gunicorn"), *args],
            cwd=ROOT,
            env={**env, "BENCH_READY_DIR": str(ready)},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped whole, below
        )
    server = Server(name, port, process, log)
    try:
        # Ready when every worker has loaded the app (gunicorn_ready.py), not when the port
        # opens: the master listens before its workers have imported anything.
        deadline = time.monotonic() + 60
        while not _ready(server, ready, workers):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not start:\n{server.log_tail()}")
            time.sleep(0.1)
        yield server
    finally:
        _stop(process)


def _ready(server: Server, ready: Path, workers: int) -> bool:
    pids = {str(pid) for pid in server.worker_pids()}
    return len(pids) >= workers and pids <= {entry.name for entry in ready.iterdir()}


def _stop(process: subprocess.Popen[bytes]) -> None:
    for sig, grace in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(grace)
            # Workers left behind by a dead master are still in the group.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            return
        except subprocess.TimeoutExpired:
            continue


# ---------------------------------------------------------------------------- wrk


@dataclass
class Round:
    label: str
    statuses: dict[str, int]
    socket_errors: dict[str, int]
    seconds: float
    wrk_cpu: float  # wrk's CPU seconds / wall seconds (1.0 = one core)
    server_cpu: float  # the server's master and workers, in cores
    machine_busy: float  # share of all cores busy during the round
    p50_ms: float
    p99_ms: float

    @property
    def created(self) -> int:
        return self.statuses.get("201", 0)

    @property
    def per_second(self) -> float:
        return self.created / self.seconds

    @property
    def failures(self) -> int:
        return sum(n for status, n in self.statuses.items() if status != "201") + sum(
            self.socket_errors.values()
        )

    def line(self) -> str:
        flag = f"  !! {self.failures} not 201: {self.failure_text()}" if self.failures else ""
        return (
            f"  {self.label:<12} {self.per_second:8.1f} creates/s   p50 {self.p50_ms:6.1f} ms  "
            f"p99 {self.p99_ms:6.0f} ms   cores: server {self.server_cpu:4.2f}, wrk "
            f"{self.wrk_cpu:4.2f}, rest {self.rest_cpu:4.2f} of {CPUS}{flag}"
        )

    @property
    def rest_cpu(self) -> float:
        """Cores busy with anything else: other processes, and PostgreSQL's backends."""
        return max(self.machine_busy * CPUS - self.server_cpu - self.wrk_cpu, 0.0)

    def failure_text(self) -> str:
        bad = {s: n for s, n in self.statuses.items() if s != "201"}
        bad.update({k: n for k, n in self.socket_errors.items() if n})
        return ", ".join(f"{k}: {n}" for k, n in sorted(bad.items()))


def _cpu_times() -> tuple[int, int]:
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    values = [int(v) for v in fields]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values), idle


_wrk_counter = 0


def wrk(
    label: str,
    server: Server,
    path: str,
    *,
    seconds: float,
    key: str = "",
    limit: int = 0,
    threads: int = WRK_THREADS,
) -> Round:
    """One wrk run; with ``limit`` (one thread only), it stops after that many responses."""
    assert not limit or threads == 1
    global _wrk_counter
    _wrk_counter += 1
    # The email's local part: letters and digits only, unique per run of wrk.
    prefix = f"{re.sub(r'[^a-z0-9]', '', label.lower())}{_wrk_counter}x{secrets.token_hex(3)}"
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{CONNECTIONS}",
        f"-d{max(round(seconds), 1)}s",  # whole seconds: wrk reads no fractions
        "--timeout",
        "10s",
        "-s",
        str(LUA),
        f"http://127.0.0.1:{server.port}",
        "--",
        prefix,
        path,
        key,
        str(limit),
    ]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    total0, idle0 = _cpu_times()
    server0 = server.cpu_seconds()
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as folder:
        marker = Path(folder) / "done"
        if limit:
            command.append(str(marker))
        process = subprocess.Popen(  # noqa: S603  (our own command line)
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        try:
            if limit:
                # Each thread makes the marker at its limit; wrk itself would sleep on.
                deadline = time.monotonic() + seconds
                while process.poll() is None and time.monotonic() < deadline:
                    if marker.exists():
                        process.send_signal(signal.SIGINT)
                        break
                    time.sleep(0.02)
            stdout, stderr = process.communicate(timeout=seconds + 60)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    server1 = server.cpu_seconds()
    total1, idle1 = _cpu_times()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
    match = re.search(r"^BENCH (\{.*\})$", result.stdout, re.MULTILINE)
    if result.returncode != 0 or match is None:
        raise RuntimeError(f"wrk failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    report = json.loads(match.group(1))
    wall = report["duration_us"] / 1e6
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    busy = 1 - (idle1 - idle0) / max(total1 - total0, 1)
    return Round(
        label=label,
        statuses=report["statuses"],
        socket_errors=report["errors"],
        seconds=wall,
        wrk_cpu=cpu / wall,
        server_cpu=(server1 - server0) / wall,
        machine_busy=busy,
        p50_ms=report["latency_p50_us"] / 1e3,
        p99_ms=report["latency_p99_us"] / 1e3,
    )


# ---------------------------------------------------------------------------- the project


@dataclass
class Target:
    kind: str  # "sqlite" or "postgresql"
    url: str
    sqlite_path: Path | None = None
    key: str = ""
    env: dict[str, str] = field(default_factory=dict)


def project_env(url: str) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        # Nothing from the caller's shell that would change what is measured.
        if name not in {"REDIS_URL", "RATELIMIT_ENABLED", "GUNICORN_CMD_ARGS", "FLASK_ENV"}
    }
    env.update(
        LATEPOINT_ENV="production",
        SECRET_KEY=secrets.token_hex(32),
        PUBLIC_URL="http://127.0.0.1",  # required in production; no message is sent here
        DATABASE_URL=url,
        WEB_CONCURRENCY=str(WORKERS),
        # Raised so it never refuses; the limiter still counts every request (in memory).
        RATE_LIMIT_LIVE="1000000/minute",
        FLASK_APP="app.py",
        PYTHONUNBUFFERED="1",
    )
    if os.environ.get("BENCH_REDIS_URL"):  # the shared store, as production runs it
        env["REDIS_URL"] = os.environ["BENCH_REDIS_URL"]
    return env


def flask_cli(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(  # noqa: S603  (our own command line)
        [str(BIN / "flask"), *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"flask {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


@contextlib.contextmanager
def prepared(kind: str) -> Iterator[Target]:
    """A fresh database, migrated, with an API key and the floor's table."""
    with contextlib.ExitStack() as stack:
        if kind == "sqlite":
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-")))
            path = folder / "bench.sqlite3"
            target = Target(kind, f"sqlite:///{path}", sqlite_path=path)
        else:
            from tests.scratch_db import scratch_postgres_database

            admin = engine_url(os.environ["TEST_DATABASE_URL"])
            target = Target(kind, stack.enter_context(scratch_postgres_database(admin, "bbox")))
        target.env = project_env(target.url)
        flask_cli(target.env, "db", "upgrade")
        output = flask_cli(
            target.env, "api-keys", "create", "--name", "bench", "--permissions", "customers:create"
        )
        target.key = output.strip().splitlines()[-1]
        create_table(target.url)
        yield target


def app_server(target: Target, logs: Path, *extra: str, workers: int = WORKERS):
    env = {**target.env, "PORT": str(free_port()), "WEB_CONCURRENCY": str(workers)}
    args = ["-c", str(GUNICORN_CONF), *extra, "app:app"]
    return gunicorn(f"app-{target.kind}", args, env, int(env["PORT"]), logs, workers)


def floor_server(target: Target, logs: Path, workers: int = WORKERS):
    port = free_port()
    env = {**target.env, "DATABASE_URL": target.url}
    args = ["-c", str(FLOOR_CONF), "-w", str(workers), "-b", f"127.0.0.1:{port}"]
    args.append("bench.floor_app:from_environment()")
    return gunicorn(f"floor-{target.kind}-{workers}w", args, env, port, logs, workers)


def journal_mode(target: Target) -> str:
    if target.sqlite_path is None:
        return ""
    with contextlib.closing(sqlite3.connect(target.sqlite_path)) as conn:
        return str(conn.execute("PRAGMA journal_mode").fetchone()[0])


def database_version(target: Target) -> str:
    if target.kind == "sqlite":
        pragmas = "; ".join(p.removeprefix("PRAGMA ") for p in project_sqlite_pragmas())
        return (
            f"SQLite {sqlite3.sqlite_version} ({journal_mode(target)} journal; the project's "
            f"per-connection PRAGMAs, used by the floor too: {pragmas or 'none'})"
        )
    engine = sa.create_engine(target.url)
    try:
        with engine.connect() as conn:
            version = conn.execute(sa.text("SHOW server_version")).scalar_one()
    finally:
        engine.dispose()
    return f"PostgreSQL {version} (local TCP)"


# ---------------------------------------------------------------------------- measurements


@dataclass
class Throughput:
    kind: str
    floor: list[Round]
    app: list[Round]
    echo: list[Round] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        return median_rate(self.app) / median_rate(self.floor)

    @property
    def failures(self) -> int:
        return sum(r.failures for r in self.floor + self.app + self.echo)


def median_rate(rounds: list[Round]) -> float:
    return statistics.median(r.per_second for r in rounds)


def throughput(target: Target, logs: Path, rounds: int, seconds: float) -> Throughput:
    with app_server(target, logs) as app, floor_server(target, logs) as floor:
        # Warm-up, the app first: its first connections settle the file's journal mode
        # before the floor's first measured round.
        wrk("warm-up app", app, APP_PATH, seconds=2, key=target.key)
        wrk("warm-up floor", floor, "/customers", seconds=2)
        print(f"{target.kind}: {database_version(target)}")
        result = Throughput(target.kind, [], [])
        for n in range(1, rounds + 1):
            result.floor.append(wrk(f"floor {n}", floor, "/customers", seconds=seconds))
            print(result.floor[-1].line(), flush=True)
            result.app.append(wrk(f"app {n}", app, APP_PATH, seconds=seconds, key=target.key))
            print(result.app[-1].line(), flush=True)
        echo = wrk("floor /echo", floor, "/echo", seconds=seconds)
        result.echo.append(echo)
    floor_median, app_median = median_rate(result.floor), median_rate(result.app)
    verdict = "ok" if result.ratio >= TARGET_RATIO else "UNDER TARGET"
    print(
        f"  medians: floor {floor_median:.1f}/s, app {app_median:.1f}/s -> "
        f"app/floor {result.ratio:.2f} (target >= {TARGET_RATIO}: {verdict})"
    )
    print(
        f"  not capped by wrk: the floor's /echo (same requests, no database) answers "
        f"{echo.per_second:.0f}/s = {echo.per_second / floor_median:.1f}x the floor's inserts, "
        f"wrk using {echo.wrk_cpu * 100:.0f}% of a core for it"
    )
    if echo.failures:
        print(f"  !! /echo: {echo.failures} not 201: {echo.failure_text()}")
    if result.failures:
        print(f"  !! FLAGGED: {result.failures} responses were not 201 (see the rounds above)")
    return result


@dataclass
class Memory:
    kind: str
    checkpoints: list[tuple[int, int]]  # (requests served, VmRSS kB)
    wanted: int
    recycled: bool = False
    failures: int = 0

    @property
    def ratio(self) -> float:
        return self.checkpoints[-1][1] / self.checkpoints[0][1]

    @property
    def complete(self) -> bool:
        return bool(self.checkpoints) and self.checkpoints[-1][0] >= self.wanted

    @property
    def ok(self) -> bool:
        return (
            self.complete and not self.recycled and not self.failures and self.ratio <= TARGET_RSS
        )

    def summary(self) -> str:
        (first, rss_first), (last, rss_last) = self.checkpoints[0], self.checkpoints[-1]
        text = (
            f"worker RSS {rss_first / 1024:.1f} MiB after {first}, {rss_last / 1024:.1f} MiB "
            f"after {last} requests: x{self.ratio:.3f} (target <= {TARGET_RSS})"
        )
        if not self.complete:
            text += f"  INCOMPLETE: {self.wanted} not reached in time"
        return text


def vm_rss_kb(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"^VmRSS:\s+(\d+) kB$", status, re.MULTILINE)
    assert match is not None, status
    return int(match.group(1))


def worker_memory(
    target: Target, logs: Path, checkpoints: tuple[int, ...], seconds: float
) -> Memory:
    """VmRSS of one worker after each checkpoint's number of creates (no recycling)."""
    print(
        f"{target.kind}: RSS of a worker (this run only: --max-requests 0, so the worker is "
        f"never recycled, and 1 worker, so it serves every request; at most {seconds:g} s)"
    )
    result = Memory(target.kind, [], wanted=checkpoints[-1])
    deadline = time.monotonic() + seconds
    with app_server(target, logs, "--max-requests", "0", workers=1) as app:
        (pid,) = app.worker_pids()
        served = 0
        for checkpoint in checkpoints:
            # One wrk thread, so its response limit is exact (the server may also see the
            # few requests still in flight on the other connections when wrk stops).
            step = wrk(
                f"rss to {checkpoint}",
                app,
                APP_PATH,
                seconds=max(deadline - time.monotonic(), 1),
                key=target.key,
                limit=checkpoint - served,
                threads=1,
            )
            served += step.created + step.failures
            result.failures += step.failures
            if app.worker_pids() != [pid]:
                result.recycled = True
                print("  !! the worker was replaced: RSS not comparable")
                break
            rss = vm_rss_kb(pid)
            result.checkpoints.append((served, rss))
            print(
                f"  after {served:>6} requests: VmRSS {rss / 1024:6.1f} MiB "
                f"({step.per_second:.0f} creates/s)"
                + (f"  !! {step.failures} not 201: {step.failure_text()}" if step.failures else ""),
                flush=True,
            )
            if served < checkpoint:
                print(f"  !! time is up ({seconds:g} s) before {checkpoint} requests")
                break
    print(f"  {result.summary()}: {'ok' if result.ok else 'NOT MET'}")
    return result


def profile(target: Target, logs: Path, folder: Path, seconds: int) -> None:
    """py-spy one worker of the app under the same load (not part of ``make bench``)."""
    spy = shutil.which("py-spy") or str(BIN / "py-spy")
    raw = folder / f"profile-{target.kind}.txt"
    # No recycling in this run, so the worker sampled lives through the whole recording.
    with app_server(target, logs, "--max-requests", "0") as app:
        wrk("warm-up app", app, APP_PATH, seconds=2, key=target.key)
        pid = app.worker_pids()[0]
        command = [spy, "record", "-p", str(pid), "-d", str(seconds), "--idle", "--function"]
        command += ["-r", "200", "--format", "raw", "-o", str(raw)]
        recorder = subprocess.Popen(  # noqa: S603  (our own command line)
            command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        load = wrk("app profiled", app, APP_PATH, seconds=seconds + 2, key=target.key)
        _, err = recorder.communicate(timeout=60)
    print(load.line())
    if recorder.returncode != 0:
        raise RuntimeError(f"py-spy failed: {err.decode(errors='replace')}")
    summary = raw.with_suffix(".md")
    title = f"{target.kind}: worker {pid}, {load.per_second:.0f} creates/s under py-spy"
    summary.write_text(summarise(raw.read_text(), title))
    print(f"  {target.kind}: py-spy profile of worker {pid} -> {raw}, summary {summary}")


# ---------------------------------------------------------------------------- the run


def machine() -> str:
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return f"{platform.node()}, {os.cpu_count()} CPUs ({model}), Python {platform.python_version()}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=4, help="alternated rounds of each")
    parser.add_argument("--seconds", type=float, default=5, help="length of a round")
    parser.add_argument(
        "--rss",
        default=",".join(str(n) for n in RSS_CHECKPOINTS),
        help="request counts at which to read a worker's RSS ('' to skip)",
    )
    parser.add_argument(
        "--rss-seconds", type=float, default=240, help="time allowed for the RSS run"
    )
    parser.add_argument("--profile", type=Path, help="py-spy a worker; raw profiles go here")
    parser.add_argument("--profile-seconds", type=int, default=10)
    args = parser.parse_args(argv)
    # A TERM (make interrupted, a CI timeout) unwinds like Ctrl-C: every server is stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if shutil.which("wrk") is None:
        print("wrk is not installed: apt-get install wrk (make bench does it)", file=sys.stderr)
        return 2

    kinds = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])
    checkpoints = tuple(int(n) for n in args.rss.split(",") if n.strip())
    print(f"Black-box: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {machine()}")
    print(
        f"gunicorn {WORKERS} sync workers each (project: gunicorn.conf.py, access log off), "
        f"wrk {WRK_THREADS} threads x {CONNECTIONS} connections, {args.rounds} alternated "
        f"rounds of {args.seconds:g} s, POST a new GB customer each request"
    )
    started = time.monotonic()
    failed = False
    summary = []
    with tempfile.TemporaryDirectory(prefix="bench-logs-") as logs_folder:
        logs = Path(logs_folder)
        try:
            for kind in kinds:
                with prepared(kind) as target:
                    result = throughput(target, logs, args.rounds, args.seconds)
                    failed |= result.ratio < TARGET_RATIO or result.failures > 0
                    summary.append(
                        f"{kind:<10} floor {median_rate(result.floor):7.1f}/s  app "
                        f"{median_rate(result.app):7.1f}/s  app/floor {result.ratio:.2f}"
                        + ("  FLAGGED: responses not 201" if result.failures else "")
                    )
                    if checkpoints and kind == kinds[0]:
                        memory = worker_memory(target, logs, checkpoints, args.rss_seconds)
                        failed |= not memory.ok
                        summary.append(f"{kind:<10} {memory.summary()}")
                    if args.profile:
                        profile(target, logs, args.profile, args.profile_seconds)
        except Exception:
            # Keep the servers' logs of a failed run: they say why.
            kept = Path(tempfile.mkdtemp(prefix="bench-failed-logs-"))
            for log in logs.glob("*.log"):
                shutil.copy(log, kept)
            print(f"server logs kept in {kept}", file=sys.stderr)
            raise
    if "postgresql" not in kinds:
        print("postgresql skipped: set TEST_DATABASE_URL to measure it")
    print(f"summary ({time.monotonic() - started:.0f} s):")
    for line in summary:
        print(f"  {line}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
