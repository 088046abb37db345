"""The CTR-GCN `.npz` layout (`NTU60_CS.npz`, `NTU120_CSub.npz`, ...), streamed both ways.

Layout, as written by upstream `seq_transformation.py`::

    x_train  float32 (N_train, T, 150)   T = longest sequence (300 on the full data);
                                          150 = 2 actors x 25 joints x (x, y, z); frames
                                          after a sample's end and an absent actor 2 are 0
    y_train  float64 (N_train, classes)  one-hot
    x_test, y_test                        the same for the test partition

For NTU-120 these files are ~30 GB uncompressed, so nothing here loads a whole member:
members are written and read through `zipfile` in chunks of samples (`np.load` cannot
memory-map a member of an `.npz`). Both stored and deflated members work.
"""
from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np

from zssar.data.ntu_preprocess import joints_to_rows, rows_to_joints
from zssar.io import atomic_path

KEYS = ("x_train", "y_train", "x_test", "y_test")
ROW_WIDTH = 150


# -- reading ------------------------------------------------------------------------------
def _read_header(f, path, key):
    version = np.lib.format.read_magic(f)
    reader = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}.get(version)
    if reader is None:
        raise ValueError(f"{path}: member {key!r}: unsupported .npy format version {version}")
    shape, fortran, dtype = reader(f)
    if dtype.hasobject:
        raise ValueError(f"{path}: member {key!r} holds Python objects; refusing to unpickle it")
    if fortran and len(shape) > 1:
        raise ValueError(f"{path}: member {key!r} is Fortran-ordered; expected the C order np.savez writes")
    return tuple(shape), dtype


def member_info(path: str | Path) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """key -> (shape, dtype) of every array in an `.npz`, reading only the headers."""
    path = Path(path)
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        raise ValueError(f"{path}: not a readable .npz (zip) file: {e}") from e
    out = {}
    with zf:
        for name in zf.namelist():
            if name.endswith(".npy"):
                with zf.open(name) as f:
                    out[name[:-4]] = _read_header(f, path, name[:-4])
    return out


def iter_rows(path: str | Path, key: str, chunk: int = 256) -> Iterator[np.ndarray]:
    """Yield consecutive blocks of at most `chunk` samples of member `key`."""
    path = Path(path)
    with zipfile.ZipFile(path) as zf, zf.open(f"{key}.npy") as f:
        shape, dtype = _read_header(f, path, key)
        per_sample = int(np.prod(shape[1:], dtype=np.int64)) * dtype.itemsize
        remaining = shape[0]
        while remaining > 0:
            n = min(chunk, remaining)
            raw = f.read(n * per_sample)
            if len(raw) != n * per_sample:
                raise ValueError(f"{path}: member {key!r} is truncated: expected {shape[0]} samples "
                                 f"of shape {shape[1:]}")
            yield np.frombuffer(raw, dtype=dtype).reshape((n,) + shape[1:])
            remaining -= n


def check_layout(path: str | Path, num_classes: int) -> dict[str, tuple[int, ...]]:
    """Validate the four members; return their shapes. Errors name the file and field."""
    path = Path(path)
    info = member_info(path)
    for key in KEYS:
        if key not in info:
            raise ValueError(f"{path}: field {key!r} missing (expected {', '.join(KEYS)})")
    shapes = {k: info[k][0] for k in KEYS}
    for part in ("train", "test"):
        xs, ys = shapes[f"x_{part}"], shapes[f"y_{part}"]
        if len(xs) != 3 or xs[2] != ROW_WIDTH:
            raise ValueError(f"{path}: field 'x_{part}' has shape {xs}, expected (N, T, {ROW_WIDTH})")
        if len(ys) != 2 or ys[0] != xs[0] or ys[1] != num_classes:
            raise ValueError(f"{path}: field 'y_{part}' has shape {ys}, expected ({xs[0]}, {num_classes}) "
                             f"one-hot labels")
    return shapes


def read_labels(path: str | Path, key: str, chunk: int = 4096) -> np.ndarray:
    """0-based labels from a one-hot member, checking it really is one-hot."""
    out, start = [], 0
    for block in iter_rows(path, key, chunk):
        hot = block != 0
        bad = np.flatnonzero(hot.sum(axis=1) != 1)
        if len(bad):
            raise ValueError(f"{path}: field {key!r} row {start + bad[0]} is not one-hot")
        out.append(block.argmax(axis=1))
        start += len(block)
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)


def rows_to_sample(rows: np.ndarray) -> np.ndarray:
    """One padded (T, 150) row block -> (3, T_valid, 25, 2): trailing all-zero frames cut."""
    nonzero = np.flatnonzero(rows.any(axis=1))
    t = nonzero[-1] + 1 if len(nonzero) else 0
    return rows_to_joints(np.asarray(rows[:t], dtype=np.float32))


# -- writing ------------------------------------------------------------------------------
def _write_member(zf: zipfile.ZipFile, key: str, shape: tuple[int, ...], dtype, blocks: Iterator[np.ndarray]):
    with zf.open(f"{key}.npy", "w", force_zip64=True) as f:
        np.lib.format.write_array_header_1_0(
            f, {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)), "fortran_order": False, "shape": shape})
        written = 0
        for block in blocks:
            f.write(np.ascontiguousarray(block, dtype=dtype).tobytes())
            written += len(block)
        if written != shape[0]:
            raise RuntimeError(f"{key}: wrote {written} rows, header says {shape[0]}")


def write_npz(path: str | Path, *, fetch: Callable[[int], np.ndarray], labels: np.ndarray,
              train: Sequence[int], test: Sequence[int], num_classes: int, num_frames: int,
              chunk: int = 256) -> dict:
    """Write a CTR-GCN `.npz`; `fetch(i)` returns sample i's (3, T, 25, M) joints.

    Memory: one chunk of (chunk, num_frames, 150) float32 at a time.
    """
    path = Path(path)
    labels = np.asarray(labels)

    def x_blocks(positions):
        for s in range(0, len(positions), chunk):
            block = np.zeros((len(positions[s:s + chunk]), num_frames, ROW_WIDTH), dtype=np.float32)
            for b, i in enumerate(positions[s:s + chunk]):
                rows = joints_to_rows(fetch(int(i)))
                if len(rows) > num_frames:
                    raise ValueError(f"sample {i} has {len(rows)} frames, more than num_frames={num_frames}")
                block[b, :len(rows)] = rows
            yield block

    def y_blocks(positions):
        for s in range(0, len(positions), chunk):
            part = labels[np.asarray(positions[s:s + chunk], dtype=np.int64)]
            block = np.zeros((len(part), num_classes), dtype=np.float64)
            block[np.arange(len(part)), part] = 1.0
            yield block

    with atomic_path(path) as tmp:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
            for part, positions in (("train", list(train)), ("test", list(test))):
                _write_member(zf, f"x_{part}", (len(positions), num_frames, ROW_WIDTH), np.float32,
                              x_blocks(positions))
                _write_member(zf, f"y_{part}", (len(positions), num_classes), np.float64, y_blocks(positions))
    return {"path": str(path), "num_train": len(train), "num_test": len(test), "num_frames": num_frames}
