"""Seen/unseen class splits and split families, loaded from human-readable YAML files.

A split file (``splits/<name>.yaml``)::

    kind: split
    name: ntu60_55_5
    dataset: ntu60
    version: 1
    num_classes: 60
    unseen: [10, 11, 19, 26, 56]          # 0-based class ids; seen = the complement
    unseen_names: [...]                   # must match the dataset's class names
    validation_unseen: [...]              # pseudo-unseen ids carved out of the seen set (GZSL
                                          # calibration is tuned on these, never on test data)
    tiers: {10: mirrored_limb, ...}       # optional novelty tier per unseen class
    provenance: {paper: ..., repo: ..., file: ..., commit: ...}

A family file lists several splits under one name (``kind: family`` with ``members:``,
each member a mapping with ``name``, ``unseen``, ``validation_unseen`` and optional
``tiers``). A family name, a split name or a path to either works wherever a split is
asked for; a family resolves to all its members.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from zssar import paths
from zssar.io import sha256_json

# libyaml's loader when present: ~6x faster on the 120-member family files
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _yaml_load(text: str):
    return yaml.load(text, Loader=_SafeLoader)


@dataclass(frozen=True)
class Split:
    name: str
    dataset: str
    version: int
    num_classes: int
    unseen: tuple[int, ...]
    validation_unseen: tuple[int, ...] = ()
    unseen_names: tuple[str, ...] = ()
    tiers: dict[int, str] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    family: str | None = None
    source: str | None = None  # file the split was read from

    @property
    def seen(self) -> tuple[int, ...]:
        u = set(self.unseen)
        return tuple(c for c in range(self.num_classes) if c not in u)

    @property
    def sha256(self) -> str:
        return sha256_json({"dataset": self.dataset, "num_classes": self.num_classes,
                            "unseen": sorted(self.unseen), "validation_unseen": sorted(self.validation_unseen)})

    def validation_split(self) -> "Split":
        """The calibration split: train on seen minus validation classes, which play unseen."""
        if not self.validation_unseen:
            raise ValueError(f"split {self.name!r} ({self.source}): field 'validation_unseen' is empty; "
                             f"honest GZSL calibration needs pseudo-unseen validation classes")
        hidden = set(self.unseen)
        # classes of the real unseen set are removed entirely from the validation world by
        # the runner; here they are simply listed as unseen too, so `seen` is the val-seen set
        return Split(name=f"{self.name}.val", dataset=self.dataset, version=self.version,
                     num_classes=self.num_classes,
                     unseen=tuple(sorted(hidden | set(self.validation_unseen))),
                     provenance={"derived_from": self.name}, family=self.family, source=self.source)

    def to_dict(self) -> dict:
        return {"name": self.name, "dataset": self.dataset, "version": self.version,
                "num_classes": self.num_classes, "unseen": list(self.unseen),
                "validation_unseen": list(self.validation_unseen),
                "unseen_names": list(self.unseen_names), "seen": list(self.seen),
                "tiers": {int(k): v for k, v in self.tiers.items()}, "family": self.family,
                "sha256": self.sha256, "provenance": self.provenance}


def _require(doc: dict, key: str, source: str, expected: str):
    if key not in doc:
        raise ValueError(f"{source}: field {key!r} missing (expected {expected})")
    return doc[key]


def _int_list(value, key: str, source: str) -> tuple[int, ...]:
    if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise ValueError(f"{source}: field {key!r} must be a list of 0-based integer class ids, got {value!r}")
    return tuple(value)


def _split_from(doc: dict, base: dict, source: str, family: str | None) -> Split:
    name = _require(doc, "name", source, "a split name")
    return Split(
        name=name,
        dataset=_require(base, "dataset", source, "a dataset name"),
        version=int(base.get("version", 1)),
        num_classes=int(_require(base, "num_classes", source, "the number of classes")),
        unseen=_int_list(_require(doc, "unseen", source, "unseen class ids"), "unseen", source),
        validation_unseen=_int_list(doc.get("validation_unseen", []), "validation_unseen", source),
        unseen_names=tuple(doc.get("unseen_names", [])),
        tiers={int(k): str(v) for k, v in (doc.get("tiers") or {}).items()},
        provenance=dict(doc.get("provenance") or base.get("provenance") or {}),
        family=family,
        source=source,
    )


def load_file(path: str | Path) -> list[Split]:
    path = Path(path)
    source = str(path)
    try:
        doc = _yaml_load(path.read_text())
    except yaml.YAMLError as e:
        raise ValueError(f"{source}: not valid YAML: {e}") from e
    if not isinstance(doc, dict):
        raise ValueError(f"{source}: expected a mapping at the top level")
    kind = doc.get("kind", "split")
    if kind == "split":
        return [_split_from(doc, doc, source, None)]
    if kind == "family":
        members = _require(doc, "members", source, "a list of member splits")
        return [_split_from(m, doc, source, doc["name"]) for m in members]
    raise ValueError(f"{source}: field 'kind' is {kind!r}, expected 'split' or 'family'")


def available() -> dict[str, Path]:
    """Split and family names shipped in ``splits/`` -> file."""
    out = {}
    for p in sorted(paths.splits_dir().glob("**/*.yaml")):
        doc = _yaml_load(p.read_text())
        if isinstance(doc, dict) and "name" in doc:
            out[doc["name"]] = p
    return out


def resolve(name_or_path: str) -> list[Split]:
    """A split name, family name, or YAML path -> the list of splits it stands for.

    A member of a family can be named ``family/member``.
    """
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") and p.is_file():
        return load_file(p)
    known = available()
    if name_or_path in known:
        return load_file(known[name_or_path])
    if "/" in name_or_path:
        fam, member = name_or_path.split("/", 1)
        if fam in known:
            hits = [s for s in load_file(known[fam]) if s.name == member]
            if hits:
                return hits
    from zssar.data.registry import unknown_name_error
    raise unknown_name_error("split", name_or_path, known)


def load_split(name_or_path: str) -> Split:
    splits = resolve(name_or_path)
    if len(splits) != 1:
        raise ValueError(f"{name_or_path!r} is a family of {len(splits)} splits; name one member "
                         f"as FAMILY/MEMBER")
    return splits[0]


def validate(split: Split, class_names: list[str] | None = None) -> list[str]:
    """Problems with a split (empty list if none)."""
    where = f"{split.source or split.name}"
    errs = []
    n = split.num_classes
    for key, ids in (("unseen", split.unseen), ("validation_unseen", split.validation_unseen)):
        bad = [c for c in ids if not 0 <= c < n]
        if bad:
            errs.append(f"{where}: field {key!r} has ids out of range 0..{n - 1}: {bad}")
        if len(set(ids)) != len(ids):
            errs.append(f"{where}: field {key!r} has duplicate ids")
    if not split.unseen:
        errs.append(f"{where}: field 'unseen' is empty")
    overlap = set(split.unseen) & set(split.validation_unseen)
    if overlap:
        errs.append(f"{where}: validation_unseen must be seen classes, but {sorted(overlap)} are unseen")
    if split.unseen_names and len(split.unseen_names) != len(split.unseen):
        errs.append(f"{where}: field 'unseen_names' has {len(split.unseen_names)} names for "
                    f"{len(split.unseen)} unseen ids")
    if class_names is not None:
        if len(class_names) != n:
            errs.append(f"{where}: num_classes is {n} but dataset {split.dataset} has {len(class_names)}")
        elif split.unseen_names:
            for c, name in zip(split.unseen, split.unseen_names):
                if 0 <= c < n and _norm(class_names[c]) != _norm(name):
                    errs.append(f"{where}: unseen id {c} is named {name!r}, dataset says {class_names[c]!r}")
    bad_tiers = [k for k in split.tiers if k not in split.unseen]
    if bad_tiers:
        errs.append(f"{where}: field 'tiers' names classes that are not unseen: {bad_tiers}")
    return errs


def _norm(s: str) -> str:
    return " ".join(s.lower().replace("_", " ").split())
