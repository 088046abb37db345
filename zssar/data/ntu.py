"""NTU RGB+D 60 and NTU RGB+D 120: class names, protocols, preparation, CTR-GCN import/export.

One module serves both datasets; `for_dataset("ntu60" | "ntu120")` returns the variant
the registry hands out (NTU-60 = setups 1-17 and actions 1-60 of NTU-120).

The prepared form (see docs/datasets_ntu.md): one sample per `.skeleton` file, id = the
20-character name, joints (3, T, 25, 2) float32 holding exactly the rows of the upstream
CTR-GCN npz before padding -- denoised, actors selected, centred on actor 1's spine-middle
joint in its first frame. Backbones consume this directly (upstream feeders consume the
same arrays) and `export_ctrgcn` only pads, so the export equals the upstream files.
"""
from __future__ import annotations

import hashlib
import logging
import os
import re
from collections import Counter, deque
from dataclasses import asdict, dataclass, field
from itertools import islice
from pathlib import Path
from types import SimpleNamespace
from typing import Iterable, Iterator, Sequence

import numpy as np
import pandas as pd
from tqdm import tqdm

from zssar import paths
from zssar.data import ctrgcn_format
from zssar.data.dataset import MANIFEST, PreparedWriter, Sample, SkeletonDataset
from zssar.data.ntu_preprocess import DenoiseConfig, MissingSkeleton, preprocess
from zssar.data.ntu_skeleton import NAME_PATTERN, SkeletonFormatError, parse_name, read_skeleton

log = logging.getLogger(__name__)

# Official action names (github.com/shahroudy/NTURGB-D README), A001 ... A120, trailing
# periods dropped. NTU-60 uses the first 60.
CLASS_NAMES: list[str] = [
    "drink water", "eat meal/snack", "brushing teeth", "brushing hair", "drop", "pickup", "throw",
    "sitting down", "standing up (from sitting position)", "clapping", "reading", "writing",
    "tear up paper", "wear jacket", "take off jacket", "wear a shoe", "take off a shoe",
    "wear on glasses", "take off glasses", "put on a hat/cap", "take off a hat/cap", "cheer up",
    "hand waving", "kicking something", "reach into pocket", "hopping (one foot jumping)", "jump up",
    "make a phone call/answer phone", "playing with phone/tablet", "typing on a keyboard",
    "pointing to something with finger", "taking a selfie", "check time (from watch)",
    "rub two hands together", "nod head/bow", "shake head", "wipe face", "salute",
    "put the palms together", "cross hands in front (say stop)", "sneeze/cough", "staggering",
    "falling", "touch head (headache)", "touch chest (stomachache/heart pain)",
    "touch back (backache)", "touch neck (neckache)", "nausea or vomiting condition",
    "use a fan (with hand or paper)/feeling warm", "punching/slapping other person",
    "kicking other person", "pushing other person", "pat on back of other person",
    "point finger at the other person", "hugging other person", "giving something to other person",
    "touch other person's pocket", "handshaking", "walking towards each other",
    "walking apart from each other",
    # NTU-120 additions (A061-A120)
    "put on headphone", "take off headphone", "shoot at the basket", "bounce ball",
    "tennis bat swing", "juggling table tennis balls", "hush (quite)", "flick hair", "thumb up",
    "thumb down", "make ok sign", "make victory sign", "staple book", "counting money",
    "cutting nails", "cutting paper (using scissors)", "snapping fingers", "open bottle",
    "sniff (smell)", "squat down", "toss a coin", "fold paper", "ball up paper", "play magic cube",
    "apply cream on face", "apply cream on hand back", "put on bag", "take off bag",
    "put something into a bag", "take something out of a bag", "open a box", "move heavy objects",
    "shake fist", "throw up cap/hat", "hands up (both hands)", "cross arms", "arm circles",
    "arm swings", "running on the spot", "butt kicks (kick backward)", "cross toe touch",
    "side kick", "yawn", "stretch oneself", "blow nose", "hit other person with something",
    "wield knife towards other person", "knock over other person (hit with body)",
    "grab other person's stuff", "shoot at other person with a gun", "step on foot", "high-five",
    "cheers and drink", "carry something with other person", "take a photo of other person",
    "follow other person", "whisper in other person's ear", "exchange things with other person",
    "support somebody with hand", "finger-guessing game (playing rock-paper-scissors)",
]
assert len(CLASS_NAMES) == 120

LAYOUT = "ntu25"
META_FIELDS = ("setup", "camera", "subject", "replication")
DEFAULT_PROTOCOL = "xsub"

# Training subjects of the official cross-subject benchmarks (NTU-60 paper; NTU-120 paper,
# the same list as CTR-GCN's data/ntu120/seq_transformation.py). The NTU-120 list restricted
# to subjects 1-40 is exactly the NTU-60 list.
NTU60_XSUB_TRAIN = (1, 2, 4, 5, 8, 9, 13, 14, 15, 16, 17, 18, 19, 25, 27, 28, 31, 34, 35, 38)
NTU120_XSUB_TRAIN = NTU60_XSUB_TRAIN + (
    45, 46, 47, 49, 50, 52, 53, 54, 55, 56, 57, 58, 59, 70, 74, 78, 80, 81, 82, 83, 84, 85, 86,
    89, 91, 92, 93, 94, 95, 97, 98, 100, 103)


@dataclass(frozen=True)
class Protocol:
    name: str
    field: str                 # meta field the split is defined on
    train_values: tuple[int, ...]
    test_values: tuple[int, ...]
    description: str
    ctrgcn_file: str           # upstream npz name for this protocol


@dataclass(frozen=True)
class Variant:
    name: str
    num_classes: int
    num_setups: int
    num_subjects: int
    missing_list_file: str     # the official file name in the user's download
    protocols: dict[str, Protocol]


VARIANTS: dict[str, Variant] = {
    "ntu60": Variant("ntu60", 60, 17, 40, "NTU_RGBD_samples_with_missing_skeletons.txt", {
        "xsub": Protocol("xsub", "subject", NTU60_XSUB_TRAIN,
                         tuple(s for s in range(1, 41) if s not in NTU60_XSUB_TRAIN),
                         "cross-subject: 20 training subjects, 20 test subjects", "NTU60_CS"),
        "xview": Protocol("xview", "camera", (2, 3), (1,),
                          "cross-view: cameras 2 and 3 train, camera 1 tests", "NTU60_CV"),
    }),
    "ntu120": Variant("ntu120", 120, 32, 106, "NTU_RGBD120_samples_with_missing_skeletons.txt", {
        "xsub": Protocol("xsub", "subject", NTU120_XSUB_TRAIN,
                         tuple(s for s in range(1, 107) if s not in NTU120_XSUB_TRAIN),
                         "cross-subject: 53 training subjects, 53 test subjects", "NTU120_CSub"),
        "xset": Protocol("xset", "setup", tuple(range(2, 33, 2)), tuple(range(1, 33, 2)),
                         "cross-setup: even setup ids train, odd setup ids test", "NTU120_CSet"),
    }),
}
# module-level API (both datasets; the registry uses for_dataset)
PROTOCOLS: dict[str, str] = {p.name: p.description for v in VARIANTS.values() for p in v.protocols.values()}
_ALL_PROTOCOLS = {**VARIANTS["ntu60"].protocols, **VARIANTS["ntu120"].protocols}
_SHARED_STATS = {"ntu60": ("ntu60", "samples_with_missing_skeletons.txt"),
                 "ntu120": ("ntu120", "NTU_RGBD120_samples_with_missing_skeletons.txt")}


@dataclass
class PrepareConfig:
    """Every option of `prepare` (the `zssar prepare` flags map onto these)."""
    skip_bad: bool = False              # leave corrupt files out (listed in the manifest) instead of failing
    workers: int | None = None          # processes parsing files; None = all CPU cores
    missing_list: str | Path | None = None  # official missing-skeleton list; None = look for it
    format: str = "native"              # "ctrgcn": also write the CTR-GCN npz files to <out>/ctrgcn
    shard_size: int = 1000              # samples per prepared shard (bounds memory)
    files_per_task: int = 16            # files a worker handles per round trip
    statistics: str | Path | None = None  # CTR-GCN statistics dir, for naming imported npz samples
    protocol: str | None = None         # protocol of an imported npz when its file name does not say
    denoise: DenoiseConfig = field(default_factory=DenoiseConfig)


# -- protocols ----------------------------------------------------------------------------
def train_mask(meta: pd.DataFrame, protocol: str, dataset: str | None = None) -> np.ndarray:
    """Which samples train under `protocol` (the rest test), from the name-derived meta."""
    protocols = VARIANTS[dataset].protocols if dataset else _ALL_PROTOCOLS
    if protocol not in protocols:
        from zssar.data.registry import unknown_name_error
        raise unknown_name_error(f"protocol for {dataset or 'ntu'}", protocol, protocols)
    p = protocols[protocol]
    if p.field not in meta.columns:
        raise ValueError(f"protocol {protocol!r} needs meta field {p.field!r}; have {list(meta.columns)}")
    return meta[p.field].isin(p.train_values).to_numpy()


def ctrgcn_order(values: np.ndarray, protocol: Protocol) -> tuple[np.ndarray, np.ndarray]:
    """Upstream get_indices order: for each id of the train (test) list in turn, the
    positions holding that id, in input order (the statistics list is sorted by name)."""
    def gather(ids):
        idx = [np.flatnonzero(values == i) for i in ids]
        return np.concatenate(idx) if idx else np.zeros(0, dtype=np.int64)
    return gather(protocol.train_values), gather(protocol.test_values)


def default_raw() -> Path | None:
    return None  # NTU is downloaded by the user (ROSE Lab licence); see docs/datasets_ntu.md


# -- preparing from .skeleton files --------------------------------------------------------
def _progress(**kw) -> tqdm:
    # TQDM_DISABLE (read by tqdm itself) wins; otherwise show the bar only on a terminal
    return tqdm(**kw) if "TQDM_DISABLE" in os.environ else tqdm(disable=None, **kw)


def available_cpus() -> int:
    """CPU cores this process may use (respects taskset/cgroup affinity where the OS has it)."""
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity else (os.cpu_count() or 1)


def _listing_sha256(entries: Iterable[tuple[str, int]]) -> str:
    """Identity of a raw source without reading 5-30 GB: sorted (name, size) lines."""
    h = hashlib.sha256()
    for name, size in sorted(entries):
        h.update(f"{name} {size}\n".encode())
    return h.hexdigest()


def find_skeleton_files(raw: Path) -> dict[str, Path]:
    """name -> path of every `*.skeleton` under `raw` (the official zips unpack to one folder)."""
    found: dict[str, Path] = {}
    for root, _dirs, files in os.walk(raw):
        for f in files:
            if f.endswith(".skeleton"):
                found.setdefault(f[: -len(".skeleton")], Path(root) / f)
    return found


def read_missing_list(path: Path) -> set[str]:
    """Sample names in an official missing-skeleton list (one per line; other text ignored)."""
    names = {m.group(0) for m in NAME_PATTERN.finditer(Path(path).read_text(errors="replace"))}
    if not names:
        raise ValueError(f"{path}: no NTU sample names (SsssCcccPpppRrrrAaaa) found in this missing-skeleton list")
    return names


def resolve_missing_list(variant: Variant, raw: Path, given: str | Path | None) -> Path | None:
    if given:
        p = Path(given)
        if not p.is_file():
            raise FileNotFoundError(f"--missing-list {p}: no such file")
        return p
    base = raw if raw.is_dir() else raw.parent
    for folder in (base, base.parent):
        for fname in (variant.missing_list_file, VARIANTS["ntu120"].missing_list_file):
            if (folder / fname).is_file():
                return folder / fname
    sub, fname = _SHARED_STATS[variant.name]
    shared = paths.shared_dir() / "data" / "ntu_statistics" / sub / fname
    return shared if shared.is_file() else None


# excluded-sample reasons: "<category>: <detail>"; the manifest counts the categories
EXCLUDED_LISTED = "missing skeleton (official list)"
EXCLUDED_NO_BODY = "missing skeleton (no body in any frame)"
EXCLUDED_CORRUPT = "corrupt file (--skip-bad)"


def _belongs(variant: Variant, meta: dict[str, int]) -> bool:
    return 1 <= meta["setup"] <= variant.num_setups and 1 <= meta["action"] <= variant.num_classes


def _process_files(paths_: Sequence[str], cfg: DenoiseConfig) -> list[tuple]:
    """Worker: parse + preprocess a few files. Returns (status, name, payload) tuples."""
    out = []
    for p in paths_:
        name = Path(p).name[: -len(".skeleton")]
        try:
            out.append(("ok", name, preprocess(read_skeleton(p), cfg).joints))
        except MissingSkeleton as e:
            out.append(("missing", name, str(e)))
        except (SkeletonFormatError, OSError, UnicodeDecodeError) as e:
            out.append(("bad", name, str(e)))
    return out


def _run(tasks: list[list[str]], cfg: DenoiseConfig, workers: int) -> Iterator[tuple]:
    """Results of `_process_files` over tasks, in order, with a bounded number in flight."""
    if workers <= 1:
        for t in tasks:
            yield from _process_files(t, cfg)
        return
    import multiprocessing as mp
    with mp.get_context().Pool(workers) as pool:
        it = iter(tasks)
        pending = deque(pool.apply_async(_process_files, (t, cfg)) for t in islice(it, 4 * workers))
        while pending:
            results = pending.popleft().get()
            nxt = next(it, None)
            if nxt is not None:
                pending.append(pool.apply_async(_process_files, (nxt, cfg)))
            yield from results


def prepare_skeletons(variant: Variant, raw: Path, out: Path, cfg: PrepareConfig) -> dict:
    files = find_skeleton_files(raw)
    if not files:
        raise FileNotFoundError(f"{raw}: no .skeleton files found (expected the unpacked NTU skeleton zip(s))")
    selected, ignored = {}, []
    for name, p in files.items():
        try:
            meta = parse_name(name)
        except ValueError:
            ignored.append(name)
            continue
        if _belongs(variant, meta):
            selected[name] = (p, meta)
        else:
            ignored.append(name)
    if not selected:
        raise FileNotFoundError(f"{raw}: none of the {len(files)} .skeleton files belongs to {variant.name} "
                                f"(setups 1-{variant.num_setups}, actions 1-{variant.num_classes})")
    missing_path = resolve_missing_list(variant, raw, cfg.missing_list)
    missing = read_missing_list(missing_path) if missing_path else set()

    writer = PreparedWriter(
        out, name=variant.name, class_names=CLASS_NAMES[:variant.num_classes], layout=LAYOUT,
        meta_fields=META_FIELDS, shard_size=cfg.shard_size,
        source_sha256=_listing_sha256((n, p.stat().st_size) for n, (p, _) in selected.items()),
        extra={
            "source": {"kind": "ntu_skeleton_files", "raw": str(raw), "num_files": len(selected),
                       "ignored_files": len(ignored),
                       "source_sha256_basis": "sha256 of sorted 'name size' lines of the raw files"},
            "preprocessing": {
                "pipeline": "CTR-GCN/SGN get_raw_skes_data -> get_raw_denoised_data -> seq_translation "
                            "(zssar.data.ntu_preprocess), not padded",
                "centred": "actor 1 spine-middle joint (joint 2) of its first present frame",
                "denoise": asdict(cfg.denoise)},
            "missing_skeletons": {
                "list": str(missing_path) if missing_path else None,
                "list_size": len(missing),
                "rule": ("names in the official list are left out, as upstream; so is any file with no body"
                         if missing_path else
                         "no official list found: files whose parse yields no body are left out")},
        })
    for name in sorted(missing & selected.keys()):
        if name not in writer.done_ids and name not in writer.excluded:
            writer.exclude(name, f"{EXCLUDED_LISTED}: {missing_path.name}")
    skip = writer.done_ids | set(writer.excluded)
    todo = [n for n in sorted(selected) if n not in skip]
    workers = max(1, cfg.workers or available_cpus())
    tasks = [[str(selected[n][0]) for n in todo[i:i + cfg.files_per_task]]
             for i in range(0, len(todo), cfg.files_per_task)]
    bad: list[str] = []
    bar = _progress(total=len(todo), desc=f"prepare {variant.name}", unit="file")
    for status, name, payload in _run(tasks, cfg.denoise, workers):
        bar.update(1)
        if status == "ok":
            meta = selected[name][1]
            writer.add(Sample(name, meta["action"] - 1, payload, {k: meta[k] for k in META_FIELDS}))
        elif status == "missing":
            writer.exclude(name, f"{EXCLUDED_NO_BODY}: {payload}")
        elif cfg.skip_bad:
            writer.exclude(name, f"{EXCLUDED_CORRUPT}: {payload}")
            bad.append(payload)
        else:
            bar.close()
            writer.flush()  # keep finished samples: a re-run resumes after fixing the file
            raise ValueError(f"{payload} (use --skip-bad to leave such files out)")
    bar.close()
    reasons = Counter(r.split(":")[0] for r in writer.excluded.values())
    writer.extra["excluded_by_reason"] = dict(sorted(reasons.items()))
    manifest = writer.close()
    if bad:
        log.warning("%d corrupt file(s) left out (--skip-bad); see %s", len(bad), out / MANIFEST)
    return manifest


# -- CTR-GCN npz export / import ----------------------------------------------------------
def _frame_counts(folder: Path, manifest: dict) -> np.ndarray:
    counts = []
    for shard in manifest["shards"]:
        with np.load(folder / f"{shard['name']}.index.npz", allow_pickle=False) as idx:
            counts.append(np.diff(idx["offsets"]))
    return np.concatenate(counts) if counts else np.zeros(0, dtype=np.int64)


def export_ctrgcn(prepared: str | Path, out_dir: str | Path, protocols: Sequence[str] | None = None,
                  num_frames: int | None = None, chunk: int = 256) -> list[dict]:
    """Write `NTU60_CS.npz`-style files for the protocols of a prepared NTU folder.

    Order and padding follow upstream: samples grouped by the protocol's id lists, by name
    within a group; frames padded with zeros to `num_frames` (default: the longest sample,
    which is 300 on the full datasets and what upstream does).
    """
    prepared = Path(prepared)
    ds = SkeletonDataset.load(prepared)
    variant = VARIANTS.get(ds.name)
    if variant is None:
        raise ValueError(f"{prepared}: dataset {ds.name!r} is not ntu60/ntu120; the CTR-GCN layout is NTU's")
    lengths = _frame_counts(prepared, ds.manifest)
    num_frames = int(num_frames or (lengths.max() if len(lengths) else 0))
    by_name = np.argsort(ds.sample_ids, kind="stable")
    meta = ds.meta.iloc[by_name].reset_index(drop=True)
    written = []
    for pname in protocols or list(variant.protocols):
        if pname not in variant.protocols:
            from zssar.data.registry import unknown_name_error
            raise unknown_name_error(f"protocol for {variant.name}", pname, variant.protocols)
        p = variant.protocols[pname]
        train, test = ctrgcn_order(meta[p.field].to_numpy(), p)
        info = ctrgcn_format.write_npz(
            Path(out_dir) / f"{p.ctrgcn_file}.npz", fetch=ds.joints, labels=ds.labels,
            train=by_name[train], test=by_name[test], num_classes=variant.num_classes,
            num_frames=num_frames, chunk=chunk)
        written.append({"protocol": pname, **info})
    return written


_CTRGCN_NAME = re.compile(r"NTU(60|120)_(CS|CV|CSub|CSet)")
_CTRGCN_PROTOCOL = {"CS": "xsub", "CV": "xview", "CSub": "xsub", "CSet": "xset"}


def _statistics_names(variant: Variant, given: str | Path | None) -> tuple[list[str] | None, str | None]:
    if given:
        p = Path(given)
        p = p / "skes_available_name.txt" if p.is_dir() else p
        if not p.is_file():
            raise FileNotFoundError(f"--statistics {given}: no skes_available_name.txt there")
    else:
        p = paths.shared_dir() / "data" / "ntu_statistics" / variant.name / "skes_available_name.txt"
        if not p.is_file():
            return None, None
    return p.read_text().split(), str(p)


def import_ctrgcn(npz: str | Path, out: str | Path, variant: Variant, cfg: PrepareConfig) -> dict:
    """Prepared folder from a CTR-GCN npz, streamed (memory: one chunk of samples).

    Sample ids are not stored in those files. When the official statistics list
    (skes_available_name.txt) gives the right counts for both partitions and its labels
    equal the one-hot labels in upstream order, the real names are used; otherwise ids
    are synthesised (`<file>_<train|test>_<index>`) and the manifest says so.
    """
    npz, out = Path(npz), Path(out)
    shapes = ctrgcn_format.check_layout(npz, variant.num_classes)
    labels = {part: ctrgcn_format.read_labels(npz, f"y_{part}") for part in ("train", "test")}
    m = _CTRGCN_NAME.search(npz.stem)
    pname = cfg.protocol or (_CTRGCN_PROTOCOL[m.group(2)] if m else None)
    if pname is not None and pname not in variant.protocols:
        raise ValueError(f"{npz}: protocol {pname!r} is not a {variant.name} protocol "
                         f"({', '.join(variant.protocols)})")
    names, stats_path = _statistics_names(variant, cfg.statistics)
    ids, why = None, None
    if pname is None:
        why = "protocol unknown (file name is not NTU60_CS/CV or NTU120_CSub/CSet; pass --protocol)"
    elif names is None:
        why = "no statistics list (skes_available_name.txt) available; pass --statistics DIR"
    else:
        p = variant.protocols[pname]
        metas = [parse_name(n) for n in names]
        train, test = ctrgcn_order(np.array([mm[p.field] for mm in metas]), p)
        actions = np.array([mm["action"] - 1 for mm in metas])
        if (len(train), len(test)) != (shapes["x_train"][0], shapes["x_test"][0]):
            why = (f"statistics list {stats_path} gives {len(train)}/{len(test)} train/test samples, "
                   f"the npz has {shapes['x_train'][0]}/{shapes['x_test'][0]}")
        elif not (np.array_equal(actions[train], labels["train"]) and np.array_equal(actions[test], labels["test"])):
            why = f"labels in the npz do not match the statistics list {stats_path} in upstream order"
        else:
            ids = {"train": [names[i] for i in train], "test": [names[i] for i in test]}
    meta_fields = list(META_FIELDS) + ([] if ids else ["partition"])
    extra = {"source": {"kind": "ctrgcn_npz", "file": str(npz), "protocol": pname,
                        "source_sha256_basis": "sha256 of the 'name size' line of the npz file"},
             "sample_ids": ({"origin": "reconstructed", "statistics": stats_path} if ids else
                            {"origin": "synthesised", "reason": why}),
             "preprocessing": {"pipeline": "imported from CTR-GCN npz (already centred); trailing "
                                           "all-zero frames removed", "centred": "as upstream"}}
    if not ids:
        key = pname or "ctrgcn"
        extra["protocols"] = {key: {"field": "partition", "train_values": [1]}}
        extra["default_protocol"] = key
        log.warning("%s: sample ids synthesised: %s", npz, why)
    writer = PreparedWriter(out, name=variant.name, class_names=CLASS_NAMES[:variant.num_classes],
                            layout=LAYOUT, meta_fields=meta_fields, shard_size=cfg.shard_size,
                            source_sha256=_listing_sha256([(npz.name, npz.stat().st_size)]), extra=extra)
    total = shapes["x_train"][0] + shapes["x_test"][0]
    bar = _progress(total=total, desc=f"import {npz.name}", unit="sample")
    for part in ("train", "test"):
        k = 0
        for block in ctrgcn_format.iter_rows(npz, f"x_{part}"):
            for rows in block:
                if ids:
                    sid = ids[part][k]
                    meta = {f: parse_name(sid)[f] for f in META_FIELDS}
                else:
                    sid = f"{npz.stem}_{part}_{k:06d}"
                    meta = {**{f: -1 for f in META_FIELDS}, "partition": int(part == "train")}
                if sid not in writer.done_ids:
                    writer.add(Sample(sid, int(labels[part][k]), ctrgcn_format.rows_to_sample(rows), meta))
                k += 1
                bar.update(1)
    bar.close()
    return writer.close()


# -- entry points ---------------------------------------------------------------------------
def prepare(raw: Path, out: Path, *, skip_bad: bool = False, dataset: str = "ntu120", **kw) -> dict:
    """Prepare NTU from a folder of `.skeleton` files or from a CTR-GCN `.npz`.

    Keyword options are the fields of `PrepareConfig`. Returns the manifest; with
    `format="ctrgcn"` it also lists the exported npz files under "exports" (not stored).
    """
    if dataset not in VARIANTS:
        raise KeyError(f"unknown NTU variant {dataset!r}; expected one of {sorted(VARIANTS)}")
    unknown = set(kw) - set(PrepareConfig.__dataclass_fields__)
    if unknown:
        raise ValueError(f"prepare({dataset}): unknown option(s) {sorted(unknown)}")
    cfg = PrepareConfig(skip_bad=skip_bad, **kw)
    if cfg.format not in ("native", "ctrgcn"):
        raise ValueError(f"format must be 'native' or 'ctrgcn', got {cfg.format!r}")
    variant, raw, out = VARIANTS[dataset], Path(raw), Path(out)
    if raw.is_file() and raw.suffix == ".npz":
        manifest = import_ctrgcn(raw, out, variant, cfg)
    elif raw.is_dir():
        manifest = prepare_skeletons(variant, raw, out, cfg)
    else:
        raise FileNotFoundError(f"{raw}: expected a folder of .skeleton files or a CTR-GCN .npz file")
    if cfg.format == "ctrgcn":
        manifest = {**manifest, "exports": export_ctrgcn(out, out / "ctrgcn")}
    return manifest


def for_dataset(name: str) -> SimpleNamespace:
    """The dataset-module API specialised to `ntu60` or `ntu120`."""
    if name not in VARIANTS:
        raise KeyError(f"unknown NTU variant {name!r}; expected one of {sorted(VARIANTS)}")
    v = VARIANTS[name]

    def prepare_variant(raw: Path, out: Path, *, skip_bad: bool = False, **kw) -> dict:
        return prepare(raw, out, skip_bad=skip_bad, dataset=name, **kw)

    return SimpleNamespace(
        __name__=f"{__name__}[{name}]",
        NAME=name,
        CLASS_NAMES=CLASS_NAMES[:v.num_classes],
        LAYOUT=LAYOUT,
        META_FIELDS=META_FIELDS,
        PROTOCOLS={p.name: p.description for p in v.protocols.values()},
        DEFAULT_PROTOCOL=DEFAULT_PROTOCOL,
        prepare=prepare_variant,
        train_mask=lambda meta, protocol: train_mask(meta, protocol, dataset=name),
        default_raw=default_raw,
        export_ctrgcn=export_ctrgcn,
        variant=v,
    )
