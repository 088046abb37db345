"""Fetch upstream semantic files (Neuron, STAR, SMIE, PURLS, SA-DVAE text and embeddings)
from their public repositories at pinned commits, each checked against its sha256.

The pinned list is `zssar/text/upstream_files.yaml` (repository, commit, path, size,
sha256, destination). Files land in `zssar.paths.fetched_semantics_dir()` with the same
layout the loaders read (`neuron/ntu/spatial/spatial_cg.json`, ...). A local mirror folder
laid out as `<owner>/<repo>/<path>` can stand in for the network (`--mirror`).
"""
from __future__ import annotations

import hashlib
import logging
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import yaml

from zssar import paths
from zssar.io import atomic_path

MANIFEST = Path(__file__).with_name("upstream_files.yaml")
RAW_URL = "https://raw.githubusercontent.com/{repo}/{commit}/{path}"
log = logging.getLogger("zssar.text.fetch")


@dataclass
class UpstreamFile:
    repo: str
    commit: str
    path: str
    dest: str
    bytes: int
    sha256: str
    content: str = ""

    @property
    def group(self) -> str:
        return self.dest.split("/", 1)[0]


def pinned_files(groups: list[str] | None = None) -> list[UpstreamFile]:
    doc = yaml.safe_load(MANIFEST.read_text())
    files = [UpstreamFile(**f) for f in doc["files"]]
    if groups:
        known = sorted({f.group for f in files})
        unknown = [g for g in groups if g not in known]
        if unknown:
            raise ValueError(f"unknown semantic groups {unknown}; known: {known}")
        files = [f for f in files if f.group in groups]
    return files


def _read_source(f: UpstreamFile, mirror: Path | None, timeout: float) -> bytes:
    if mirror is not None:
        src = mirror / f.repo / f.path
        if not src.is_file():
            raise FileNotFoundError(f"mirror {mirror}: {f.repo}/{f.path} not found")
        return src.read_bytes()
    url = RAW_URL.format(repo=f.repo, commit=f.commit, path=f.path)
    with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 (pinned https URL)
        return resp.read()


def fetch(groups: list[str] | None = None, dest: Path | None = None, mirror: Path | None = None,
          timeout: float = 60.0) -> list[tuple[UpstreamFile, str]]:
    """Fetch (or verify already-present) files; returns (file, status) pairs.

    status is 'present' (already there with the right hash), 'fetched', or an error text.
    A file whose bytes do not match the pinned sha256 is never written.
    """
    dest = dest or paths.fetched_semantics_dir()
    out = []
    for f in pinned_files(groups):
        target = dest / f.dest
        if target.is_file() and hashlib.sha256(target.read_bytes()).hexdigest() == f.sha256:
            out.append((f, "present"))
            continue
        try:
            data = _read_source(f, mirror, timeout)
        except (OSError, FileNotFoundError) as e:
            out.append((f, f"error: {e}"))
            continue
        digest = hashlib.sha256(data).hexdigest()
        if digest != f.sha256:
            out.append((f, f"error: sha256 mismatch for {f.repo}@{f.commit[:8]}:{f.path} "
                           f"(got {digest[:16]}…, pinned {f.sha256[:16]}…); not written"))
            continue
        with atomic_path(target) as tmp:
            tmp.write_bytes(data)
        out.append((f, "fetched"))
    return out
