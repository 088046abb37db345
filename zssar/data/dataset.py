"""The one form skeleton data takes in zssar-bench, in memory and on disk.

Convention (everywhere): one sample's joints are a float32 array of shape **(C, T, V, M)**:
C=3 coordinates (x, y, z), T frames, V joints, M bodies (M=2 for NTU/PKU, zero-filled
when only one person is present). This is the per-sample slice of the `(N, C, T, V, M)`
tensor that ST-GCN-family backbones consume, so no transpose is needed between the data
layer and the models.

On disk a *prepared* dataset is a folder:

    manifest.json                  counts, class names, layout, meta fields, source sha256,
                                   code version, per-shard sha256, excluded samples
    shard-00000.joints.npy         float32 (sum of T over the shard's samples, C, V, M)
    shard-00000.index.npz          sample_ids, labels, offsets (n+1), meta_<field> arrays

Frames of variable-length samples are concatenated along the first axis (ragged storage)
and read back through a memory map, so loading is instant and memory stays flat. A shard's
index file is written (atomically) after its joints file, so a shard with an index is
complete: an interrupted preparation resumes from the shards already on disk.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from zssar import __version__
from zssar.data.layouts import Layout, get_layout
from zssar.io import atomic_path, read_json, save_npz, sha256_file, write_json

FORMAT_VERSION = 1
MANIFEST = "manifest.json"


@dataclass
class Sample:
    sample_id: str
    label: int  # 0-based class index
    joints: np.ndarray  # (C, T, V, M) float32
    meta: dict[str, int] = field(default_factory=dict)


class PreparedWriter:
    """Streams samples into a prepared-dataset folder, shard by shard.

    Memory is bounded by one shard's worth of samples, whatever the dataset size.
    Re-opening a folder with completed shards resumes: `done_ids` lists what is already
    written and the caller skips those samples.
    """

    def __init__(
        self,
        out_dir: str | Path,
        *,
        name: str,
        class_names: Sequence[str],
        layout: str,
        meta_fields: Sequence[str],
        source_sha256: str | None = None,
        shard_size: int = 1000,
        extra: dict | None = None,
    ):
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.class_names = list(class_names)
        self.layout = get_layout(layout)
        self.meta_fields = list(meta_fields)
        self.source_sha256 = source_sha256
        self.shard_size = shard_size
        self.extra = dict(extra or {})
        self._buffer: list[Sample] = []
        self._excluded: dict[str, str] = {}
        self._shards = sorted(p.name[: -len(".index.npz")] for p in self.out_dir.glob("shard-*.index.npz"))
        self.done_ids: set[str] = set()
        for shard in self._shards:
            with np.load(self.out_dir / f"{shard}.index.npz", allow_pickle=False) as idx:
                self.done_ids.update(idx["sample_ids"].tolist())
        excluded_file = self.out_dir / "excluded.json"
        if excluded_file.exists():
            self._excluded.update(read_json(excluded_file))

    def add(self, sample: Sample) -> None:
        j = sample.joints
        if j.ndim != 4 or j.shape[0] != 3 or j.shape[2] != self.layout.num_joints:
            raise ValueError(
                f"{self.name}: sample {sample.sample_id}: joints must be (3, T, {self.layout.num_joints}, M), "
                f"got {tuple(j.shape)}"
            )
        if not 0 <= sample.label < len(self.class_names):
            raise ValueError(f"{self.name}: sample {sample.sample_id}: label {sample.label} out of range")
        missing = [f for f in self.meta_fields if f not in sample.meta]
        if missing:
            raise ValueError(f"{self.name}: sample {sample.sample_id}: meta fields missing: {missing}")
        self._buffer.append(sample)
        if len(self._buffer) >= self.shard_size:
            self.flush()

    @property
    def excluded(self) -> dict[str, str]:
        """Samples left out so far (including earlier, resumed runs): id -> reason."""
        return dict(self._excluded)

    def exclude(self, sample_id: str, reason: str) -> None:
        """Record a sample left out (known missing skeleton, corrupt file with --skip-bad)."""
        self._excluded[sample_id] = reason
        write_json(self.out_dir / "excluded.json", self._excluded)

    def flush(self) -> None:
        if not self._buffer:
            return
        shard = f"shard-{len(self._shards):05d}"
        m = max(s.joints.shape[3] for s in self._buffer)
        frames = [np.ascontiguousarray(_pad_bodies(s.joints, m).transpose(1, 0, 2, 3), dtype=np.float32)
                  for s in self._buffer]
        offsets = np.zeros(len(frames) + 1, dtype=np.int64)
        offsets[1:] = np.cumsum([f.shape[0] for f in frames])
        joints_path = self.out_dir / f"{shard}.joints.npy"
        # through a file handle: np.save(path) would append ".npy" to the temporary name
        with atomic_path(joints_path) as tmp, open(tmp, "wb") as f:
            np.save(f, np.concatenate(frames, axis=0), allow_pickle=False)
        meta = {f"meta_{k}": np.array([s.meta[k] for s in self._buffer], dtype=np.int64) for k in self.meta_fields}
        save_npz(
            self.out_dir / f"{shard}.index.npz",
            sample_ids=np.array([s.sample_id for s in self._buffer]),
            labels=np.array([s.label for s in self._buffer], dtype=np.int64),
            offsets=offsets,
            **meta,
        )
        self.done_ids.update(s.sample_id for s in self._buffer)
        self._shards.append(shard)
        self._buffer = []

    def close(self) -> dict:
        self.flush()
        counts = np.zeros(len(self.class_names), dtype=np.int64)
        num_samples = 0
        shards = []
        max_bodies = 0
        for shard in self._shards:
            with np.load(self.out_dir / f"{shard}.index.npz", allow_pickle=False) as idx:
                labels = idx["labels"]
            counts += np.bincount(labels, minlength=len(self.class_names))
            num_samples += len(labels)
            jp = self.out_dir / f"{shard}.joints.npy"
            max_bodies = max(max_bodies, np.load(jp, mmap_mode="r").shape[3])
            shards.append({"name": shard, "num_samples": int(len(labels)),
                           "joints_sha256": sha256_file(jp),
                           "index_sha256": sha256_file(self.out_dir / f"{shard}.index.npz")})
        manifest = {
            "format_version": FORMAT_VERSION,
            "name": self.name,
            "num_samples": num_samples,
            "num_classes": len(self.class_names),
            "class_names": self.class_names,
            "class_counts": counts.tolist(),
            "layout": self.layout.name,
            "num_bodies": int(max_bodies),
            "joints_convention": "(C, T, V, M)",
            "meta_fields": self.meta_fields,
            "source_sha256": self.source_sha256,
            "code_version": __version__,
            "excluded": {"count": len(self._excluded), "samples": self._excluded},
            "shards": shards,
            **self.extra,
        }
        write_json(self.out_dir / MANIFEST, manifest)
        return manifest


def _pad_bodies(joints: np.ndarray, m: int) -> np.ndarray:
    if joints.shape[3] == m:
        return joints
    pad = np.zeros(joints.shape[:3] + (m - joints.shape[3],), dtype=joints.dtype)
    return np.concatenate([joints, pad], axis=3)


class SkeletonDataset:
    """A prepared dataset (memory-mapped) or an in-memory one; indexable by position.

    `ds[i]` returns a `Sample`; `ds.joints(i)` returns only the (C, T, V, M) array.
    `ds.subset(idx)` is a cheap view used for seen/unseen and train/test partitions.
    """

    def __init__(self, *, name: str, class_names: Sequence[str], layout: Layout | str,
                 sample_ids: np.ndarray, labels: np.ndarray, meta: pd.DataFrame,
                 fetch, manifest: dict | None = None, index: np.ndarray | None = None):
        self.name = name
        self.class_names = list(class_names)
        self.layout = layout if isinstance(layout, Layout) else get_layout(layout)
        self._sample_ids = np.asarray(sample_ids)
        self._labels = np.asarray(labels, dtype=np.int64)
        self._meta = meta.reset_index(drop=True)
        self._fetch = fetch  # global position -> (C, T, V, M) array
        self.manifest = manifest or {}
        self._index = np.arange(len(self._sample_ids)) if index is None else np.asarray(index, dtype=np.int64)

    # -- views -------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._index)

    @property
    def sample_ids(self) -> np.ndarray:
        return self._sample_ids[self._index]

    @property
    def labels(self) -> np.ndarray:
        return self._labels[self._index]

    @property
    def meta(self) -> pd.DataFrame:
        return self._meta.iloc[self._index].reset_index(drop=True)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def data_sha256(self) -> str:
        """Identity of the prepared data (hash of the manifest, which hashes every shard)."""
        from zssar.io import sha256_json
        return self.manifest.get("data_sha256") or sha256_json(self.manifest)

    def joints(self, i: int) -> np.ndarray:
        return self._fetch(int(self._index[i]))

    def __getitem__(self, i: int) -> Sample:
        g = int(self._index[i])
        row = self._meta.iloc[g]
        return Sample(str(self._sample_ids[g]), int(self._labels[g]), self._fetch(g),
                      {k: int(row[k]) for k in self._meta.columns})

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def subset(self, positions: Iterable[int] | np.ndarray) -> "SkeletonDataset":
        positions = np.asarray(positions)
        if positions.dtype == bool:
            positions = np.flatnonzero(positions)
        return SkeletonDataset(name=self.name, class_names=self.class_names, layout=self.layout,
                               sample_ids=self._sample_ids, labels=self._labels, meta=self._meta,
                               fetch=self._fetch, manifest=self.manifest, index=self._index[positions])

    def with_classes(self, class_ids: Iterable[int]) -> "SkeletonDataset":
        return self.subset(np.isin(self.labels, np.asarray(list(class_ids))))

    # -- constructors ------------------------------------------------------------------
    @classmethod
    def from_samples(cls, samples: Sequence[Sample], *, name: str, class_names: Sequence[str],
                     layout: str, manifest: dict | None = None) -> "SkeletonDataset":
        """An in-memory dataset (tests, small generated data)."""
        arrays = [np.asarray(s.joints, dtype=np.float32) for s in samples]
        meta = pd.DataFrame([s.meta for s in samples])
        return cls(name=name, class_names=class_names, layout=layout,
                   sample_ids=np.array([s.sample_id for s in samples]),
                   labels=np.array([s.label for s in samples], dtype=np.int64),
                   meta=meta, fetch=arrays.__getitem__, manifest=manifest)

    @classmethod
    def load(cls, folder: str | Path) -> "SkeletonDataset":
        folder = Path(folder)
        mpath = folder / MANIFEST
        if not mpath.is_file():
            raise FileNotFoundError(
                f"{folder}: no {MANIFEST}; this folder is not a prepared dataset "
                f"(run `zssar prepare DATASET --raw PATH --out {folder}`)")
        manifest = read_json(mpath)
        for key in ("format_version", "name", "class_names", "layout", "shards", "meta_fields"):
            if key not in manifest:
                raise ValueError(f"{mpath}: field {key!r} missing")
        if manifest["format_version"] != FORMAT_VERSION:
            raise ValueError(f"{mpath}: field 'format_version' is {manifest['format_version']}, "
                             f"this code reads {FORMAT_VERSION}; re-run `zssar prepare`")
        ids, labels, metas, joints, shard_of, starts, ends = [], [], [], [], [], [], []
        for s, shard in enumerate(manifest["shards"]):
            ipath = folder / f"{shard['name']}.index.npz"
            with np.load(ipath, allow_pickle=False) as idx:
                ids.append(idx["sample_ids"])
                labels.append(idx["labels"])
                off = idx["offsets"]
                metas.append(pd.DataFrame({k: idx[f"meta_{k}"] for k in manifest["meta_fields"]}))
            if len(off) != shard["num_samples"] + 1:
                raise ValueError(f"{ipath}: field 'offsets' has {len(off)} entries, "
                                 f"expected num_samples+1 = {shard['num_samples'] + 1}")
            joints.append(np.load(folder / f"{shard['name']}.joints.npy", mmap_mode="r"))
            shard_of.append(np.full(len(off) - 1, s))
            starts.append(off[:-1])
            ends.append(off[1:])
        shard_of = np.concatenate(shard_of) if shard_of else np.zeros(0, int)
        starts = np.concatenate(starts) if starts else np.zeros(0, int)
        ends = np.concatenate(ends) if ends else np.zeros(0, int)

        def fetch(g: int) -> np.ndarray:
            block = joints[shard_of[g]][starts[g]:ends[g]]  # (T, C, V, M) memmap view
            return np.asarray(block).transpose(1, 0, 2, 3)

        manifest = dict(manifest)
        manifest["data_sha256"] = _manifest_hash(mpath)
        meta = pd.concat(metas, ignore_index=True) if metas else pd.DataFrame(columns=manifest["meta_fields"])
        return cls(name=manifest["name"], class_names=manifest["class_names"], layout=manifest["layout"],
                   sample_ids=np.concatenate(ids) if ids else np.array([], dtype=str),
                   labels=np.concatenate(labels) if labels else np.array([], dtype=np.int64),
                   meta=meta, fetch=fetch, manifest=manifest)


def _manifest_hash(path: Path) -> str:
    m = json.loads(path.read_text())
    m.pop("created", None)
    from zssar.io import sha256_json
    return sha256_json(m)


def write_prepared(samples: Iterable[Sample], out_dir: str | Path, **writer_kwargs) -> dict:
    """Write an iterable of samples as a prepared dataset (resumes if shards exist)."""
    w = PreparedWriter(out_dir, **writer_kwargs)
    for s in samples:
        if s.sample_id not in w.done_ids:
            w.add(s)
    return w.close()
