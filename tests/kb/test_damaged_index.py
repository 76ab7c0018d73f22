"""A damaged index (a segment truncated under a running process) never takes the process
down nor answers 500: search says it is being rebuilt, /healthz reports it, a reindex repairs it."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from portal.kb import search as idx
from tests.conftest import KB_DIR, REPO

# Searches through the app in a process of its own: a SIGBUS there cannot kill pytest.
SEARCHES = """
import json, os, sys
from pathlib import Path
from portal import create_app
from portal.kb import search

config = json.loads(sys.argv[1])
if sys.argv[3] == "files":
    search.IN_MEMORY_MAX_BYTES = 0  # as a build too large to keep in memory is read
client = create_app(config).test_client()

def search(q):
    page = client.get("/kb/search", query_string={"q": q})
    body = page.get_data(as_text=True)
    print(json.dumps([page.status_code, "Search is being rebuilt" in body, "<mark>" in body]), flush=True)

search("password")
if sys.argv[2] == "truncate":
    # Under the searcher this thread already has open, as a damaged disk or a careless copy would.
    index_dir = Path(config["INDEX_DIR"])
    build = index_dir / (index_dir / "CURRENT").read_text().strip()
    for segment in build.glob("*.seg"):
        os.truncate(segment, segment.stat().st_size // 2)
    search("invoice")
    search("password")
"""


def _searches(config: dict, mode: str, reading: str) -> list[list]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "PORTAL_INSTANCE_PATH": config["INSTANCE"]}
    done = subprocess.run([sys.executable, "-c", SEARCHES, json.dumps(config), mode, reading], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"the app's process died ({done.returncode}): {done.stderr[-2000:]}"
    return [json.loads(line) for line in done.stdout.splitlines()]


@pytest.fixture
def damaged_copy(kb_index, tmp_path) -> Path:
    index_dir = tmp_path / "index-copy"
    shutil.copytree(kb_index, index_dir)
    return index_dir


@pytest.mark.parametrize("reading", ["memory", "files"])
def test_a_segment_truncated_under_a_running_app_never_kills_it_and_a_reindex_repairs_it(
        make_app, database_url, damaged_copy, tmp_path, reading):
    config = {"TESTING": True, "DATABASE_URL": database_url, "KB_DIR": str(KB_DIR), "INDEX_DIR": str(damaged_copy),
              "KB_AUTO_REINDEX": False, "SECRET_KEY": "test", "INSTANCE": str(tmp_path / "instance")}
    before, *after = _searches(config, "truncate", reading)
    assert before == [200, False, True]
    if reading == "memory":  # the process read the segment before the damage: it keeps answering
        assert after[-1] == [200, False, True]
    else:  # reads fail from now on: the page says search is being rebuilt
        assert after == [[200, True, False], [200, True, False]]

    app = make_app(INDEX_DIR=str(damaged_copy))
    health = app.test_client().get("/healthz")
    assert health.status_code == 503
    assert health.json["index"]["status"] == "corrupt" and health.json["database"]["ok"]

    result = app.test_cli_runner().invoke(args=["kb", "reindex"])
    assert result.exit_code == 0 and "Rebuilt the index" in result.output

    assert _searches(config, "search", reading) == [[200, False, True]]
    assert app.test_client().get("/healthz").status_code == 200


def test_the_start_up_check_rebuilds_an_index_whose_files_are_not_the_size_they_were_built_with(
        make_app, damaged_copy):
    build = damaged_copy / (damaged_copy / "CURRENT").read_text().strip()
    segment = next(build.glob("*.seg"))
    with open(segment, "ab") as f:  # still readable by Whoosh: only the recorded size tells
        f.write(b"\0" * 16)
    assert idx.damage(build, idx._read_manifest(build)).endswith("built as %d" % (segment.stat().st_size - 16))
    assert idx.index_state(KB_DIR, damaged_copy, check_files=False).status == "corrupt"
    assert idx.search(damaged_copy, "password").unavailable

    make_app(INDEX_DIR=str(damaged_copy), KB_AUTO_REINDEX=True)
    assert idx.index_state(KB_DIR, damaged_copy).status == "ok"
    assert idx.search(damaged_copy, "password").hits


def test_the_worker_rebuilds_a_damaged_index(make_app, damaged_copy):
    import threading

    build = damaged_copy / (damaged_copy / "CURRENT").read_text().strip()
    segment = next(build.glob("*.seg"))
    os.truncate(segment, segment.stat().st_size // 2)
    app = make_app(INDEX_DIR=str(damaged_copy), KB_AUTO_REINDEX=False)
    assert idx.index_state(KB_DIR, damaged_copy, check_files=False).status == "corrupt"
    assert idx.repair_job in app.extensions["portal.worker_jobs"]
    stop = threading.Event()
    stop.set()  # one round, then the stop the worker would send
    idx.repair_job(app, stop)
    assert idx.index_state(KB_DIR, damaged_copy).status == "ok"
    assert idx.search(damaged_copy, "password").hits
    assert idx.repair_index(KB_DIR, damaged_copy).status == "ok"  # a healthy index is left alone
    assert (damaged_copy / "CURRENT").read_text().strip() != build.name
