"""The run records committed under results/runs, which the README's tables and closing notes cite.

Only git-tracked records are checked: runs a user makes in a working copy are theirs."""
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from zssar.report import store

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def committed() -> pd.DataFrame:
    try:
        listed = subprocess.run(["git", "ls-files", "--", "results/runs/*result.json"], cwd=REPO,
                                capture_output=True, text=True, timeout=60, check=True).stdout.split()
    except (OSError, subprocess.SubprocessError):
        pytest.skip("not a git checkout: no committed records to check")
    if not listed:
        pytest.skip("no committed run records")
    tracked = {str(Path(p).parent.relative_to("results/runs")) for p in listed}
    runs = store.load_results(REPO / "results" / "runs")
    found = runs[runs["run_dir"].isin(tracked)]
    assert len(found) == len(tracked), "the store did not find every committed record"
    return found


def test_every_committed_record_loads_and_is_complete(committed):
    assert (committed["status"] == "complete").all(), committed.loc[committed["status"] != "complete", "run_dir"].tolist()


def test_no_committed_record_comes_from_a_dirty_tree(committed):
    # a run made with uncommitted code cannot be traced to the code that produced it:
    # re-run it from a clean checkout (`zssar bench ... --force`) before committing it
    dirty = committed.loc[committed["env.git_dirty"].astype(bool), "run_dir"].tolist()
    assert not dirty, f"{len(dirty)} record(s) from a dirty git tree, e.g. {dirty[:3]}"
    assert (committed["env.git_commit"].str.len() == 40).all()
