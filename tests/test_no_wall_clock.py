"""No test, fixture or demo data reads the wall clock: tests take their instant from
the ``now`` fixture and the demo from ``seed_demo(now)``, so the suite passes at any
hour of any day (tests/conftest.py freezes the clock there)."""

import io
import re
import tokenize
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# date.today(), datetime.now()/utcnow()/today(), and a bare utcnow() (ours, imported).
WALL_CLOCK = re.compile(r"\bdate\.today\(|\bdatetime\.(?:now|utcnow|today)\(|(?<![.\w])utcnow\(")
# The few reads of the real time that are the point, and why.
ALLOWED = {
    ("portal/demo.py", "now = now or utcnow()"): "seed_demo() without an instant builds today's demo",
    ("portal/demo.py", "created = seed_demo(utcnow())"): "the CLI: `make run` shows a demo of today",
}


def _code_lines(path: Path):
    """(number, line) with comments blanked: a comment may name utcnow(), code may not."""
    lines = path.read_text().splitlines()
    for token in tokenize.generate_tokens(io.StringIO(path.read_text()).readline):
        if token.type == tokenize.COMMENT:
            row, col = token.start
            lines[row - 1] = lines[row - 1][:col]
    return enumerate(lines, start=1)


def test_the_pattern_finds_each_kind_of_read():
    for read in ("date.today()", "datetime.now(UTC)", "datetime.utcnow()", "x = utcnow() - d"):
        assert WALL_CLOCK.search(read), read
    assert not WALL_CLOCK.search("models.utcnow  # a reference, not a call") and not WALL_CLOCK.search("now.date()")


def test_tests_and_demo_data_take_their_time_from_now():
    files = [p for p in sorted((REPO / "tests").rglob("*.py")) if p != Path(__file__).resolve()]
    files.append(REPO / "portal" / "demo.py")
    found, used = [], set()
    for path in files:
        rel = path.relative_to(REPO).as_posix()
        for number, line in _code_lines(path):
            if not WALL_CLOCK.search(line):
                continue
            allowed = [key for key in ALLOWED if key[0] == rel and key[1] in line]
            if allowed:
                used.update(allowed)
            else:
                found.append(f"{rel}:{number}: {line.strip()}")
    assert not found, "wall-clock reads; use the `now` fixture (or pass `now` down):\n" + "\n".join(found)
    assert used == set(ALLOWED), f"stale allow-list entries: {set(ALLOWED) - used}"
