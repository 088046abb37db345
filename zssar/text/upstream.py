"""Upstream text packs read from the fetched copy (`zssar semantics fetch`) or from
``../shared/semantics`` (never copied into the repo).

``load(dataset, source, num_classes)`` returns ``(sentences, embeddings_or_None, provenance)``
or ``None`` when the pack has nothing for that dataset/source (or ``../shared`` is absent).

=====================  =========================================================  ============
source                 file(s) under ``semantics/``                                datasets
=====================  =========================================================  ============
``spatial_coarse``     ``neuron/<ntu|pku>/spatial/spatial_cg.json`` + ``*_cg.tar``  ntu60/120, pku
``spatial_medium``     ``.../spatial_mg.json`` + ``*_spatial_mg.tar``
``spatial_fine``       ``.../spatial_fg.json`` + ``*_spatial_fg.tar``
``temporal_1``         ``neuron/<ntu|pku>/temporal/temporal_fp.json`` + ``*_fp.tar``
``temporal_2``         ``.../temporal_sp.json`` + ``*_temporal_fsp.tar``
``temporal_3``         ``.../temporal_tp.json`` + ``*_temporal_fstp.tar``
``part_<p>``           ``star/ntu120_part_descriptions.txt`` / ``pkuv1_...txt``     ntu60/120, pku
``smie``               ``smie/ntu60_des.txt`` / ``ntu120_des.txt`` / ``pku_des.txt``  ntu60/120, pku
=====================  =========================================================  ============

Neuron's ``.tar`` files are ``torch.save`` archives of one float32 tensor (C, 10, 768): the
released CLIP ViT-L/14@336px text features of the 10 descriptions per class (the encoding
script was not released). NTU-60 uses the first 60 of the NTU-120 rows everywhere (the
NTU-60 classes are NTU-120 classes 0..59). Upstream repositories and commits are listed in
``../shared/PROVENANCE_semantics_and_splits.md``; the provenance string returned here names
the file actually read.

Caveat kept from upstream: the embedding files of temporal phases 2 and 3 are named
``fsp``/``fstp`` ("first+second", "first+second+third" phase) while the sentence files are
``sp``/``tp``; upstream's Neuron aligns phase e with a cumulative temporal window, so the
embeddings probably encode cumulative phase text. We return both as released.
"""
from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

from zssar import paths

# dataset -> (folder name in the Neuron/STAR packs, number of classes in the upstream files)
_UPSTREAM_DATASETS = {"ntu60": ("ntu", 120), "ntu120": ("ntu", 120), "pku_mmd1": ("pku", 51)}
_EXPECTED_CLASSES = {"ntu60": 60, "ntu120": 120, "pku_mmd1": 51}
_EMBED_PREFIX = {"ntu": "ntu120", "pku": "pkuv1"}

# Neuron: our source name -> (sub-folder, sentence json stem, embedding file suffix)
NEURON_SOURCES = {
    "spatial_coarse": ("spatial", "spatial_cg", "spatial_cg"),
    "spatial_medium": ("spatial", "spatial_mg", "spatial_mg"),
    "spatial_fine": ("spatial", "spatial_fg", "spatial_fg"),
    "temporal_1": ("temporal", "temporal_fp", "temporal_fp"),
    "temporal_2": ("temporal", "temporal_sp", "temporal_fsp"),
    "temporal_3": ("temporal", "temporal_tp", "temporal_fstp"),
}
STAR_PARTS = ("head", "hand", "arm", "hip", "leg", "foot")
_STAR_FILES = {"ntu": "ntu120_part_descriptions.txt", "pku": "pkuv1_part_descriptions.txt"}
_SMIE_FILES = {"ntu60": "ntu60_des.txt", "ntu120": "ntu120_des.txt", "pku_mmd1": "pku_des.txt"}

SOURCES = (*NEURON_SOURCES, *(f"part_{p}" for p in STAR_PARTS), "smie")


def semantics_root() -> Path:
    """Files fetched by `zssar semantics fetch` (same layout) win over ``../shared/semantics``."""
    found = paths.upstream_semantics_dirs()
    return found[0] if found else paths.shared_dir() / "semantics"


def load(dataset: str, source: str, num_classes: int):
    """(sentences per class, embeddings (C, K, D) or None, provenance) or None if unavailable."""
    if dataset not in _UPSTREAM_DATASETS or source not in SOURCES:
        return None
    if not semantics_root().is_dir():
        return None
    expected = _EXPECTED_CLASSES[dataset]
    if num_classes != expected:
        raise ValueError(f"upstream text for {dataset} covers {expected} classes, asked for {num_classes}")
    if source in NEURON_SOURCES:
        return _neuron(dataset, source, num_classes)
    if source.startswith("part_"):
        return _star_part(dataset, source[len("part_"):], num_classes)
    return _smie(dataset, num_classes)


# -- Neuron ------------------------------------------------------------------------------
def _neuron(dataset: str, source: str, num_classes: int):
    folder, _ = _UPSTREAM_DATASETS[dataset]
    sub, stem, emb_suffix = NEURON_SOURCES[source]
    base = semantics_root() / "neuron" / folder / sub
    json_path = base / f"{stem}.json"
    emb_path = base / f"{_EMBED_PREFIX[folder]}_gpt4omini_incontext_{emb_suffix}.tar"
    if not json_path.is_file():
        return None
    per_class = _neuron_sentences(str(json_path))
    sentences = [list(s) for s in per_class[:num_classes]]
    emb = None
    if emb_path.is_file():
        emb = _neuron_embeddings(str(emb_path))
        if emb.shape[0] != len(per_class) or emb.shape[1] != len(per_class[0]):
            raise ValueError(f"{emb_path}: tensor of shape {tuple(emb.shape)} does not match "
                             f"{json_path} ({len(per_class)} classes x {len(per_class[0])} sentences)")
        emb = emb[:num_classes].clone()
    prov = f"Neuron (cseeyangchen/Neuron) {json_path}" + (f" + CLIP features {emb_path}" if emb is not None else "")
    return sentences, emb, prov


@lru_cache(maxsize=None)
def _neuron_sentences(path: str) -> tuple[tuple[str, ...], ...]:
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not valid JSON (line {e.lineno}: {e.msg})") from e
    if not isinstance(doc, dict) or not doc:
        raise ValueError(f"{path}: expected an object mapping class name -> list of descriptions")
    out = []
    for name, descs in doc.items():  # JSON object order = upstream class order
        if not isinstance(descs, list) or not descs or not all(isinstance(d, str) for d in descs):
            raise ValueError(f"{path}: class {name!r}: expected a non-empty list of strings")
        out.append(tuple(d.strip() for d in descs))
    k = {len(d) for d in out}
    if len(k) != 1:
        raise ValueError(f"{path}: classes have different numbers of descriptions {sorted(k)}")
    return tuple(out)


@lru_cache(maxsize=None)
def _neuron_embeddings(path: str):
    import torch
    # saved on cuda:0 upstream; weights_only refuses anything but plain tensors
    t = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(t, torch.Tensor) or t.dim() != 3:
        raise ValueError(f"{path}: expected one tensor of shape (classes, descriptions, dim), "
                         f"got {type(t).__name__} {getattr(t, 'shape', '')}")
    return t.float().contiguous()


def neuron_class_names(dataset: str) -> list[str] | None:
    """Class names in the order of Neuron's files (to check against a dataset's order)."""
    if dataset not in _UPSTREAM_DATASETS:
        return None
    folder, _ = _UPSTREAM_DATASETS[dataset]
    path = semantics_root() / "neuron" / folder / "spatial" / "spatial_cg.json"
    if not path.is_file():
        return None
    return list(json.loads(path.read_text(encoding="utf-8")))[:_EXPECTED_CLASSES[dataset]]


# -- STAR part descriptions ----------------------------------------------------------------
def _star_part(dataset: str, part: str, num_classes: int):
    folder, n_upstream = _UPSTREAM_DATASETS[dataset]
    path = semantics_root() / "star" / _STAR_FILES[folder]
    if not path.is_file():
        return None
    rows = _star_rows(str(path))
    if len(rows) != n_upstream:
        raise ValueError(f"{path}: expected {n_upstream} lines (one per class), found {len(rows)}")
    sentences = [[rows[c][1][part]] for c in range(num_classes)]
    return sentences, None, f"STAR (cseeyangchen/STAR) {path} [{part.capitalize()}]"


_PART_FIELD = re.compile(r"^\s*(Head|Hand|Arm|Hip|Leg|Foot)\s*:\s*(.*)$", re.S)


@lru_cache(maxsize=None)
def _star_rows(path: str) -> tuple[tuple[str, dict[str, str]], ...]:
    """Lines "class; Head: ...; Hand: ...; Arm: ...; Hip: ...; Leg: ...; Foot: ..."."""
    rows = []
    for lineno, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        name, _, rest = line.partition(";")
        parts: dict[str, str] = {}
        current = None
        # descriptions may themselves contain ';' — a field starts only at "Part:"
        for chunk in rest.split(";"):
            m = _PART_FIELD.match(chunk)
            if m:
                current = m.group(1).lower()
                parts[current] = m.group(2).strip()
            elif current is not None:
                parts[current] += ";" + chunk
        missing = [p for p in STAR_PARTS if not parts.get(p)]
        if missing:
            raise ValueError(f"{path}: line {lineno} ({name.strip()!r}): missing body-part field(s) "
                             f"{missing}; expected 'class; Head: ...; Hand: ...; Arm: ...; Hip: ...; "
                             f"Leg: ...; Foot: ...'")
        rows.append((name.strip(), {p: parts[p].strip().rstrip(".") + "." for p in STAR_PARTS}))
    return tuple(rows)


# -- SMIE one-sentence descriptions --------------------------------------------------------
def _smie(dataset: str, num_classes: int):
    path = semantics_root() / "smie" / _SMIE_FILES[dataset]
    if not path.is_file():
        return None
    lines = [l.strip() for l in path.read_text(encoding="utf-8").splitlines() if l.strip()]
    if len(lines) != num_classes:
        raise ValueError(f"{path}: expected {num_classes} lines (one description per class), found {len(lines)}")
    return [[l] for l in lines], None, f"SMIE (YujieOuO/SMIE) {path}"
