"""Every on-disk location the suite uses, in one place.

Each location is overridable by an environment variable so that tests, CI and users with
data on another disk can redirect it without touching code.
"""
from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def _env_path(var: str, default: Path) -> Path:
    value = os.environ.get(var)
    return Path(value).expanduser().resolve() if value else default


def shared_dir() -> Path:
    """Reference data that must never be copied into the repository (`../shared`)."""
    return _env_path("ZSSAR_SHARED", REPO_ROOT.parent / "shared")


def shared_available() -> bool:
    return (shared_dir() / "README.md").is_file()


def prepared_dir() -> Path:
    """Cache of prepared datasets, one folder per dataset name (git-ignored)."""
    return _env_path("ZSSAR_DATA", REPO_ROOT / "data" / "prepared")


def results_dir() -> Path:
    return _env_path("ZSSAR_RESULTS", REPO_ROOT / "results")


def cache_dir() -> Path:
    """Text-embedding cache, backbone checkpoints and feature cache (git-ignored)."""
    return _env_path("ZSSAR_CACHE", REPO_ROOT / ".cache" / "zssar")


def splits_dir() -> Path:
    return _env_path("ZSSAR_SPLITS", REPO_ROOT / "splits")


def semantics_dir() -> Path:
    """Text written by this project (class names, templates, context packs)."""
    return REPO_ROOT / "zssar" / "text" / "packs"


def fetched_semantics_dir() -> Path:
    """Where `zssar semantics fetch` puts upstream description files."""
    return _env_path("ZSSAR_SEMANTICS", cache_dir() / "semantics")


def upstream_semantics_dirs() -> list[Path]:
    """Folders searched, in order, for upstream semantic files (same layout in each):
    the fetched copy first, then `../shared/semantics`."""
    return [d for d in (fetched_semantics_dir(), shared_dir() / "semantics") if d.is_dir()]


def find_upstream_semantics(relative: str) -> Path | None:
    for d in upstream_semantics_dirs():
        if (d / relative).is_file():
            return d / relative
    return None
