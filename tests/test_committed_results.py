"""The run records committed under results/runs, which the README's tables and closing notes cite."""
from pathlib import Path

import pytest

from zssar.report import store

RUNS = Path(__file__).resolve().parents[1] / "results" / "runs"


@pytest.fixture(scope="module")
def committed():
    if not any(RUNS.rglob("result.json")):
        pytest.skip("no committed run records")
    return store.load_results(RUNS)


def test_every_committed_record_loads_and_is_complete(committed):
    assert (committed["status"] == "complete").all(), committed.loc[committed["status"] != "complete", "run_dir"].tolist()


def test_no_committed_record_comes_from_a_dirty_tree(committed):
    # a run made with uncommitted code cannot be traced to the code that produced it:
    # re-run it from a clean checkout (`zssar bench ... --force`) before committing it
    dirty = committed.loc[committed["env.git_dirty"].astype(bool), "run_dir"].tolist()
    assert not dirty, f"{len(dirty)} record(s) from a dirty git tree, e.g. {dirty[:3]}"
    assert (committed["env.git_commit"].str.len() == 40).all()
