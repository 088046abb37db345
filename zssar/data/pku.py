"""PKU-MMD phase I (Liu et al., 2017): 51 actions, 1,076 long videos of 3 Kinect-v2 views,
25 joints, up to 2 bodies. A sample is one labelled action interval of a video.

Three source forms are read (detected from what ``--raw`` contains):

``official``  the release as downloaded from the PKU-MMD site::

                  <raw>/.../PKU_Skeleton_Renew/0002-L.txt      one line per frame, 150 values
                                                               = 2 bodies x 25 joints x xyz
                  <raw>/.../Train_Label_PKU_final/0002-L.txt   rows "label,start,end,confidence"
                                                               (label 1-based, frames 1-based,
                                                               inclusive)
                  <raw>/.../cross-subject.txt, cross-view.txt  "Training videos:" / "Validataion
                                                               videos:" lines (sic), each
                                                               followed by a comma list

              Folders are found by name (a folder with "label" in its name holds labels, one
              with "skeleton" holds skeletons); pass ``skeleton_dir=``/``label_dir=`` to
              override. Sample ids are ``<video>_<interval>``, e.g. ``0002-L_000``.

``aimclr``    the preprocessed layout of AimCLR's ``tools/pku_part1_gendata.py`` (also used by
              CrossCLR and, via STAR/Neuron's README, by zero-shot work)::

                  <raw>/xsub/{train,val}_data.npy     float32 (N, 3, 300, 25, 2), zero-padded
                  <raw>/xsub/{train,val}_label.pkl    pickle of (sample_names, labels),
                                                      names like F002V001C008L001.skeleton
                  <raw>/xview/...                     same for cross-view

              The label file is a Python pickle: a legacy format. It is read with an
              unpickler that only rebuilds lists, tuples, strings and numbers (plus numpy
              integer scalars) and refuses anything else; no other code path unpickles.
              Sample names are converted to this module's ids (``F002V001...L001`` ->
              ``0002-L_000``), so xsub and xview folders merge into one dataset.

``npz``       STAR / Neuron's ``pkuv1_xsub.npz`` / ``pkuv1_xview.npz``: ``x_train``, ``y_train``,
              ``x_test``, ``y_test`` with x (N, 3, T, 25, 2) (or CTR-GCN's flattened (N, T, 150))
              and y integer labels (N,) / (N, 1) or one-hot (N, 51). These carry no sample
              names, so one file (one protocol) is imported; choose with ``protocol=``
              (``zssar prepare pku_mmd1 --protocol xview``).

Zero-padded frames at the end of preprocessed samples are trimmed, so every sample gets
back its own length. Meta: ``video`` (file number, -1 if unknown), ``view`` (1=L, 2=M, 3=R,
-1 if unknown), ``xsub_train`` / ``xview_train`` (1 train, 0 test, -1 not given by the
source: asking for that protocol is then an error).
"""
from __future__ import annotations

import hashlib
import io
import logging
import pickle
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from zssar.io import sha256_file, sha256_json

log = logging.getLogger(__name__)

# PKU-MMD's official label order (Actions.xlsx, label ids 1..51); written out here, checked
# against STAR's pkuv1_part_descriptions.txt and SA-DVAE's pku51.csv.
CLASS_NAMES = [
    "bow", "brushing hair", "brushing teeth", "check time (from watch)", "cheer up", "clapping",
    "cross hands in front (say stop)", "drink water", "drop", "eat meal/snack", "falling",
    "giving something to other person", "hand waving", "handshaking", "hopping (one foot jumping)",
    "hugging other person", "jump up", "kicking other person", "kicking something",
    "make a phone call/answer phone", "pat on back of other person", "pickup",
    "playing with phone/tablet", "point finger at the other person",
    "pointing to something with finger", "punching/slapping other person", "pushing other person",
    "put on a hat/cap", "put something inside pocket", "reading", "rub two hands together",
    "salute", "sitting down", "standing up", "take off a hat/cap", "take off glasses",
    "take off jacket", "take out something from pocket", "taking a selfie", "tear up paper",
    "throw", "touch back (backache)", "touch chest (stomachache/heart pain)",
    "touch head (headache)", "touch neck (neckache)", "typing on a keyboard",
    "use a fan (with hand or paper)/feeling warm", "wear jacket", "wear on glasses", "wipe face",
    "writing",
]
LAYOUT = "ntu25"
PROTOCOLS = {
    "xsub": "cross-subject: the official cross-subject.txt training / validation video lists",
    "xview": "cross-view: the official cross-view.txt training / validation video lists",
}
DEFAULT_PROTOCOL = "xsub"
META_FIELDS = ("video", "view", "xsub_train", "xview_train")
VIEWS = {"L": 1, "M": 2, "R": 3}
NUM_JOINTS, NUM_BODIES = 25, 2
VALUES_PER_FRAME = NUM_BODIES * NUM_JOINTS * 3
VIDEO_PATTERN = re.compile(r"^(\d{4})-([LMR])$")
AIMCLR_NAME = re.compile(r"^F(\d{3,4})V(\d{3})C(\d{3})L(\d{3})(?:\.skeleton)?$")
SPLIT_FILES = {"xsub": "cross-subject.txt", "xview": "cross-view.txt"}


@dataclass
class PKUConfig:
    """Every knob of PKU-MMD preparation."""
    source: str = "auto"          # auto | official | aimclr | npz
    skeleton_dir: str | None = None  # official: folder of per-video skeleton files
    label_dir: str | None = None     # official: folder of per-video label files
    protocol: str | None = None      # npz: which file (xsub/xview) to import when both are present
    shard_size: int = 1000


def default_raw() -> Path | None:
    return None  # PKU-MMD is not redistributable; the user downloads it


# -- official release ---------------------------------------------------------------------

def read_video_list(path: Path) -> tuple[set[str], set[str]]:
    """An official split file -> (training videos, validation videos)."""
    text = path.read_text()
    sections: dict[str, list[str]] = {}
    current = None
    for line_no, line in enumerate(text.splitlines(), 1):
        head, sep, rest = line.partition(":")
        if sep and head.strip().lower() in ("training videos", "validataion videos", "validation videos"):
            current = "train" if head.strip().lower().startswith("train") else "val"
            sections[current] = []
            line = rest
        elif current is None and line.strip():
            raise ValueError(f"{path}: line {line_no}: expected 'Training videos:' before the video list")
        if current is not None:
            sections[current] += [v.strip() for v in line.split(",") if v.strip()]
    for key, title in (("train", "Training videos:"), ("val", "Validataion videos:")):
        if key not in sections:
            raise ValueError(f"{path}: no {title!r} line")
        bad = [v for v in sections[key] if not VIDEO_PATTERN.match(v)]
        if bad:
            raise ValueError(f"{path}: {title} has entries that are not video names like 0002-L: {bad[:3]}")
    train, val = set(sections["train"]), set(sections["val"])
    if train & val:
        raise ValueError(f"{path}: videos listed for both training and validation: {sorted(train & val)[:3]}")
    return train, val


def read_intervals(path: Path) -> list[tuple[int, int, int]]:
    """An official label file -> [(0-based label, first frame, last frame)] (frames 1-based)."""
    rows = []
    for line_no, line in enumerate(path.read_text().splitlines(), 1):
        fields = [f.strip() for f in line.split(",") if f.strip()]
        if not fields:
            continue
        try:
            if len(fields) < 3:
                raise ValueError
            label, start, end = (int(float(f)) for f in fields[:3])
        except ValueError:
            raise ValueError(f"{path}: line {line_no}: expected 'label,start,end,confidence' numbers, "
                             f"got {line.strip()!r}") from None
        if not 1 <= label <= len(CLASS_NAMES):
            raise ValueError(f"{path}: line {line_no}: label {label} out of range 1..{len(CLASS_NAMES)}")
        if not 1 <= start <= end:
            raise ValueError(f"{path}: line {line_no}: interval {start}..{end} is not 1 <= start <= end")
        rows.append((label - 1, start, end))
    return rows


def read_frames(path: Path, data: bytes | None = None) -> np.ndarray:
    """An official skeleton file -> float32 (3, T, 25, 2)."""
    text = (data if data is not None else path.read_bytes()).decode()
    lines = [l for l in text.splitlines() if l.strip()]
    rows = [l.split() for l in lines]
    for line_no, row in enumerate(rows, 1):
        if len(row) != VALUES_PER_FRAME:
            raise ValueError(f"{path}: line {line_no}: expected {VALUES_PER_FRAME} numbers per frame "
                             f"(2 bodies x 25 joints x xyz), got {len(row)}")
    if not rows:
        raise ValueError(f"{path}: no frames")
    try:
        values = np.array(rows, dtype=np.float32)
    except ValueError as e:
        raise ValueError(f"{path}: non-numeric value ({e})") from None
    # value order per line: body, joint, xyz
    frames = values.reshape(-1, NUM_BODIES, NUM_JOINTS, 3)
    return np.ascontiguousarray(frames.transpose(3, 0, 2, 1))


def _find_dir(raw: Path, word: str, override: str | None) -> Path:
    if override:
        d = Path(override) if Path(override).is_absolute() else raw / override
        if not d.is_dir():
            raise FileNotFoundError(f"{d}: not a folder")
        return d
    video_file = re.compile(r"^\d{4}-[LMR]\.txt$")
    candidates = sorted({p.parent for p in raw.rglob("*.txt") if video_file.match(p.name)
                         and word in p.parent.name.lower()})
    if len(candidates) != 1:
        raise FileNotFoundError(
            f"{raw}: expected exactly one folder with {word!r} in its name holding 0002-L.txt-style "
            f"files, found {[str(c) for c in candidates]}; pass {word}_dir=FOLDER")
    return candidates[0]


def _find_split_file(raw: Path, name: str) -> Path:
    hits = sorted(raw.rglob(name))
    if not hits:
        raise FileNotFoundError(f"{raw}: official split file {name} not found")
    return hits[0]


def _official_samples(raw: Path, cfg: PKUConfig, writer, skip_bad: bool):
    from zssar.data.dataset import Sample

    skel_dir = _find_dir(raw, "skeleton", cfg.skeleton_dir)
    label_dir = _find_dir(raw, "label", cfg.label_dir)
    lists = {p: read_video_list(_find_split_file(raw, f)) for p, f in SPLIT_FILES.items()}
    digest = hashlib.sha256()
    for label_path in sorted(label_dir.glob("*.txt")):
        video = label_path.stem
        m = VIDEO_PATTERN.match(video)
        if not m:
            continue
        flags = {}
        for protocol, (train, val) in lists.items():
            flags[f"{protocol}_train"] = 1 if video in train else 0 if video in val else -1
        if -1 in flags.values():
            writer.exclude(video, "video in neither the training nor the validation list of "
                                  + ", ".join(SPLIT_FILES[p] for p in lists if flags[f"{p}_train"] == -1))
            continue
        skel_path = skel_dir / label_path.name
        try:
            intervals = read_intervals(label_path)
            if not skel_path.is_file():
                raise FileNotFoundError(f"{skel_path}: skeleton file missing (labels are in {label_path})")
        except (ValueError, FileNotFoundError) as e:
            if not skip_bad:
                raise
            writer.exclude(video, f"unreadable: {e}")
            continue
        data = skel_path.read_bytes()
        digest.update(label_path.name.encode() + label_path.read_bytes() + data)
        ids = [f"{video}_{k:03d}" for k in range(len(intervals))]
        if all(i in writer.done_ids for i in ids):
            continue
        try:
            frames = read_frames(skel_path, data)
        except ValueError as e:
            if not skip_bad:
                raise
            writer.exclude(video, f"unreadable: {e}")
            continue
        meta = {"video": int(m[1]), "view": VIEWS[m[2]], **flags}
        for sample_id, (label, start, end) in zip(ids, intervals):
            if end > frames.shape[1]:
                msg = f"{label_path}: interval {start}..{end} ends after the last frame ({frames.shape[1]}) of {skel_path}"
                if not skip_bad:
                    raise ValueError(msg)
                writer.exclude(sample_id, msg)
                continue
            if sample_id not in writer.done_ids:
                yield Sample(sample_id, label, frames[:, start - 1:end].copy(), dict(meta))
    writer.source_sha256 = digest.hexdigest()


# -- preprocessed forms (AimCLR, STAR/Neuron) ----------------------------------------------

class _PlainDataUnpickler(pickle.Unpickler):
    """Rebuilds only plain data: containers, strings, numbers and numpy scalars/arrays of
    numbers. Any other global (the way pickles run code) is refused."""

    ALLOWED = {
        ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "dtype"), ("numpy", "ndarray"),
    }

    def find_class(self, module, name):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}: only plain data is accepted")


def read_label_pickle(path: Path) -> tuple[list[str], list[int]]:
    """AimCLR ``*_label.pkl`` -> (sample names, 0-based labels). Legacy pickle format."""
    try:
        obj = _PlainDataUnpickler(io.BytesIO(path.read_bytes())).load()
    except (pickle.UnpicklingError, EOFError, ValueError) as e:
        raise ValueError(f"{path}: not an AimCLR label pickle of (sample_names, labels): {e}") from None
    if not (isinstance(obj, (tuple, list)) and len(obj) == 2 and len(obj[0]) == len(obj[1])):
        raise ValueError(f"{path}: expected a pickled pair (sample_names, labels) of equal length")
    names = [str(n) for n in obj[0]]
    labels = [int(l) for l in obj[1]]
    return names, labels


def _trim(sample: np.ndarray) -> np.ndarray:
    """(3, T, 25, 2) zero-padded -> (3, T', 25, 2) up to the last non-zero frame."""
    nonzero = np.flatnonzero(np.abs(sample).sum(axis=(0, 2, 3)) > 0)
    return np.ascontiguousarray(sample[:, : nonzero[-1] + 1] if nonzero.size else sample[:, :0], dtype=np.float32)


def _as_ctvm(x: np.ndarray, path: Path, key: str) -> np.ndarray:
    if x.ndim == 5 and x.shape[1] == 3 and x.shape[3:] == (NUM_JOINTS, NUM_BODIES):
        return x
    if x.ndim == 3 and x.shape[2] == VALUES_PER_FRAME:  # CTR-GCN flat form: (N, T, M*V*C)
        return x.reshape(x.shape[0], x.shape[1], NUM_BODIES, NUM_JOINTS, 3).transpose(0, 4, 1, 3, 2)
    raise ValueError(f"{path}: field {key!r} has shape {x.shape}, expected (N, 3, T, 25, 2) or (N, T, 150)")


def _as_labels(y: np.ndarray, n: int, path: Path, key: str) -> np.ndarray:
    if y.ndim == 2 and y.shape[1] == len(CLASS_NAMES):
        y = y.argmax(axis=1)  # one-hot
    y = y.reshape(-1)
    if y.shape[0] != n or not np.issubdtype(y.dtype, np.number):
        raise ValueError(f"{path}: field {key!r} must hold {n} labels, got shape {y.shape} ({y.dtype})")
    y = y.astype(np.int64)
    if y.min(initial=0) < 0 or y.max(initial=0) >= len(CLASS_NAMES):
        raise ValueError(f"{path}: field {key!r} has labels outside 0..{len(CLASS_NAMES) - 1}")
    return y


def aimclr_id(name: str, path: Path) -> tuple[str, dict[str, int], int]:
    """``F002V001C008L001.skeleton`` -> ("0002-L_000", {video, view}, 0-based class)."""
    m = AIMCLR_NAME.match(name)
    if not m or int(m[2]) not in VIEWS.values():
        raise ValueError(f"{path}: sample name {name!r} is not like F002V001C008L001.skeleton")
    video, view, cls, index = (int(g) for g in m.groups())
    letter = "LMR"[view - 1]
    return f"{video:04d}-{letter}_{index - 1:03d}", {"video": video, "view": view}, cls - 1


def _aimclr_samples(raw: Path, writer, skip_bad: bool):
    from zssar.data.dataset import Sample

    # pass 1: names, labels and partitions of both protocols, merged by sample id
    entries: dict[str, dict] = {}
    sources = []
    for protocol in ("xsub", "xview"):
        for part, is_train in (("train", 1), ("val", 0)):
            lp, dp = raw / protocol / f"{part}_label.pkl", raw / protocol / f"{part}_data.npy"
            if not lp.is_file():
                continue
            if not dp.is_file():
                raise FileNotFoundError(f"{dp}: missing (its labels are in {lp})")
            names, labels = read_label_pickle(lp)
            data = np.load(dp, mmap_mode="r", allow_pickle=False)
            if data.ndim != 5 or data.shape[0] != len(names) or data.shape[1] != 3 or data.shape[3:] != (NUM_JOINTS, NUM_BODIES):
                raise ValueError(f"{dp}: shape {data.shape}, expected ({len(names)}, 3, T, 25, 2) to match {lp}")
            sources += [lp, dp]
            for row, (name, label) in enumerate(zip(names, labels)):
                sample_id, meta, cls = aimclr_id(name, lp)
                if not 0 <= label < len(CLASS_NAMES) or cls != label:
                    raise ValueError(f"{lp}: sample {name}: label {label} disagrees with class C{cls + 1:03d} "
                                     f"in its name (or is outside 0..{len(CLASS_NAMES) - 1})")
                e = entries.setdefault(sample_id, {"label": label, "meta": {**meta, "xsub_train": -1,
                                                                           "xview_train": -1},
                                                   "where": (data, row)})
                e["meta"][f"{protocol}_train"] = is_train
    if not sources:
        raise FileNotFoundError(f"{raw}: no xsub/ or xview/ folder with train_label.pkl / val_label.pkl")
    writer.source_sha256 = sha256_json({str(p.relative_to(raw)): sha256_file(p) for p in sources})
    # pass 2: the joints, read one sample at a time from the memory-mapped arrays
    for sample_id in sorted(entries):
        if sample_id in writer.done_ids:
            continue
        e = entries[sample_id]
        data, row = e["where"]
        joints = _trim(np.asarray(data[row]))
        if joints.shape[1] == 0:
            writer.exclude(sample_id, "all-zero sample")
            continue
        yield Sample(sample_id, e["label"], joints, e["meta"])


def _npz_file(raw: Path, protocol: str | None) -> tuple[Path, str]:
    if raw.is_file():
        files = [raw]
    else:
        files = sorted(raw.glob("pkuv1_x*.npz"))
    found = {}
    for f in files:
        m = re.search(r"(xsub|xview)", f.name)
        if m:
            found[m[1]] = f
    if not found:
        raise FileNotFoundError(f"{raw}: no pkuv1_xsub.npz / pkuv1_xview.npz")
    protocol = protocol or ("xsub" if "xsub" in found else "xview")
    if protocol not in found:
        raise FileNotFoundError(f"{raw}: no npz file for protocol {protocol!r}; found {sorted(found)}")
    return found[protocol], protocol


def _npz_samples(raw: Path, cfg: PKUConfig, writer, skip_bad: bool):
    from zssar.data.dataset import Sample

    path, protocol = _npz_file(raw, cfg.protocol)
    writer.source_sha256 = sha256_file(path)
    writer.extra["npz_protocol"] = protocol
    with np.load(path, allow_pickle=False) as z:
        for key in ("x_train", "y_train", "x_test", "y_test"):
            if key not in z.files:
                raise ValueError(f"{path}: field {key!r} missing (expected x_train, y_train, x_test, y_test)")
        for part, is_train in (("train", 1), ("test", 0)):
            x = _as_ctvm(z[f"x_{part}"], path, f"x_{part}")
            y = _as_labels(z[f"y_{part}"], x.shape[0], path, f"y_{part}")
            other = "xview" if protocol == "xsub" else "xsub"
            for i in range(x.shape[0]):
                sample_id = f"{protocol}_{part}_{i:05d}"
                if sample_id in writer.done_ids:
                    continue
                joints = _trim(x[i])
                if joints.shape[1] == 0:
                    writer.exclude(sample_id, "all-zero sample")
                    continue
                meta = {"video": -1, "view": -1, f"{protocol}_train": is_train, f"{other}_train": -1}
                yield Sample(sample_id, int(y[i]), joints, meta)


def detect_source(raw: Path) -> str:
    if raw.is_file() and raw.suffix == ".npz" or any(raw.glob("pkuv1_x*.npz")):
        return "npz"
    if any((raw / p / f"{part}_label.pkl").is_file() for p in ("xsub", "xview") for part in ("train", "val")):
        return "aimclr"
    return "official"


def prepare(raw: Path, out: Path, *, skip_bad: bool = False, **kw) -> dict:
    from zssar.data.dataset import PreparedWriter

    try:
        cfg = PKUConfig(**kw)
    except TypeError as e:
        raise ValueError(f"pku_mmd1: unsupported prepare option ({e})") from None
    raw = Path(raw)
    if not raw.exists():
        raise FileNotFoundError(f"{raw}: PKU-MMD raw data not found (see docs/datasets.md)")
    source = detect_source(raw) if cfg.source == "auto" else cfg.source
    readers = {"official": lambda w: _official_samples(raw, cfg, w, skip_bad),
               "aimclr": lambda w: _aimclr_samples(raw, w, skip_bad),
               "npz": lambda w: _npz_samples(raw, cfg, w, skip_bad)}
    if source not in readers:
        raise ValueError(f"pku_mmd1: source must be one of {sorted(readers)} or 'auto', got {source!r}")
    writer = PreparedWriter(out, name="pku_mmd1", class_names=CLASS_NAMES, layout=LAYOUT,
                            meta_fields=META_FIELDS, shard_size=cfg.shard_size,
                            extra={"protocols_doc": PROTOCOLS, "source_format": source})
    for sample in readers[source](writer):
        writer.add(sample)
    manifest = writer.close()
    log.info("pku_mmd1: %d samples prepared from the %s form in %s", manifest["num_samples"], source, out)
    return manifest


def train_mask(meta: pd.DataFrame, protocol: str) -> np.ndarray:
    if protocol not in PROTOCOLS:
        raise KeyError(f"pku_mmd1: unknown protocol {protocol!r}; known: {sorted(PROTOCOLS)}")
    flags = meta[f"{protocol}_train"].to_numpy()
    if (flags < 0).any():
        raise ValueError(f"pku_mmd1: {int((flags < 0).sum())} samples have no {protocol} partition: the "
                         f"source they were prepared from does not define it (prepare from the "
                         f"official release or include the {protocol}/ folder)")
    return flags == 1
