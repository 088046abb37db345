"""The contract between the runner and a method plugin.

The runner owns data, splits, seeds, device, backbone features, text encoding, metrics and
results. A method declares what it needs and implements two calls:

    fit(train: MethodData, seen_text: ClassText) -> dict        # training statistics
    predict(test: MethodData, candidates: ClassText) -> Prediction

Class ids are the dataset's 0-based ids. `ClassText.class_ids` fixes the column order of
scores: `Prediction.scores[:, j]` scores class `candidates.class_ids[j]`.
"""
from __future__ import annotations

import dataclasses
import logging
import typing
from dataclasses import dataclass, field
from typing import Any, ClassVar, Sequence

import numpy as np

if typing.TYPE_CHECKING:  # keep `zssar list methods` free of torch imports
    import torch

    from zssar.data.layouts import Layout
    from zssar.text.encoders import TextEncoder


@dataclass(frozen=True)
class Requirements:
    """What a method consumes; the runner prepares exactly this."""
    features: bool = True      # pooled backbone feature per sample, (N, D)
    maps: bool = False         # backbone spatial-temporal map per sample, (N, T', V, C)
    raw: bool = False          # the SkeletonDataset itself (methods that train end to end)
    text_sources: tuple[str, ...] = ("names",)  # semantic sources embedded for every class
    masked_lm: bool = False    # needs a masked language model (SkeletonContext)


@dataclass
class MethodData:
    """Samples handed to a method; row i of every array is sample i."""
    sample_ids: np.ndarray
    labels: "torch.Tensor"                 # (N,) dataset class ids (for test data: for metrics only)
    features: "torch.Tensor | None" = None  # (N, D) float32
    maps: "torch.Tensor | None" = None      # (N, T', V, C) float32
    raw: Any = None                        # zssar.data.dataset.SkeletonDataset subset
    layout: "Layout | None" = None

    def __len__(self) -> int:
        return len(self.sample_ids)


@dataclass
class ClassText:
    """Text side information for an ordered set of classes.

    `sentences[source][j]` is the list of sentences for class `class_ids[j]`;
    `embed(source)` returns their embeddings (C, K, D) from the run's text encoder
    (cached on disk), or precomputed embeddings when the pack ships them.
    """
    class_ids: list[int]
    names: list[str]
    sentences: dict[str, list[list[str]]]
    encoder: "TextEncoder"
    precomputed: dict[str, "torch.Tensor"] = field(default_factory=dict)
    dataset: str = ""

    def __len__(self) -> int:
        return len(self.class_ids)

    def embed(self, source: str) -> "torch.Tensor":
        """(C, K, D) float32 embeddings of a text source; K = sentences per class."""
        if source in self.precomputed:
            return self.precomputed[source]
        if source not in self.sentences:
            raise KeyError(f"text source {source!r} not loaded; available: "
                           f"{sorted(set(self.sentences) | set(self.precomputed))}")
        per_class = self.sentences[source]
        k = max(len(s) for s in per_class)
        flat = [s[i % len(s)] for s in per_class for i in range(k)]  # pad by cycling
        return self.encoder.encode(flat).reshape(len(per_class), k, -1)

    def column_of(self, labels: "torch.Tensor") -> "torch.Tensor":
        """Map dataset class ids to column indices in this class order."""
        import torch
        lut = torch.full((max(max(self.class_ids), int(labels.max()) if len(labels) else 0) + 1,), -1,
                         dtype=torch.long)
        lut[torch.tensor(self.class_ids)] = torch.arange(len(self.class_ids))
        cols = lut[labels.long().cpu()]
        if (cols < 0).any():
            bad = sorted(set(labels[cols < 0].tolist()))
            raise ValueError(f"labels {bad} are not among the text classes {self.class_ids}")
        return cols.to(labels.device)

    def subset(self, class_ids: Sequence[int]) -> "ClassText":
        pos = [self.class_ids.index(c) for c in class_ids]
        return ClassText(list(class_ids), [self.names[p] for p in pos],
                         {k: [v[p] for p in pos] for k, v in self.sentences.items()}, self.encoder,
                         {k: v[pos] for k, v in self.precomputed.items()}, self.dataset)


@dataclass
class Prediction:
    """scores (N, C) aligned with the candidates' class order; higher = more likely.

    `heads` holds further named score matrices of the same shape (e.g. Neuron's spatial and
    temporal branches); the runner scores each as a labelled extra metric.
    """
    scores: np.ndarray
    heads: dict[str, np.ndarray] = field(default_factory=dict)


class Method:
    """Base class of every method plugin. Subclasses set the class attributes below."""

    name: ClassVar[str] = ""
    version: ClassVar[str] = "1.0"
    paper: ClassVar[str] = ""
    Config: ClassVar[type] = None  # a dataclass; every field has a default
    requires: ClassVar[Requirements] = Requirements()
    # Papers whose upstream code trains with unseen-class text declare it here; the runner
    # then records `uses_unseen_text: true` and tables flag the row.
    uses_unseen_text: ClassVar[bool] = False
    # Per-dataset overrides of Config defaults (e.g. the paper's schedule for NTU/PKU).
    DATASET_DEFAULTS: ClassVar[dict[str, dict[str, Any]]] = {}

    def __init__(self, config, *, device: str = "cpu", seed: int = 0, log: logging.Logger | None = None):
        self.config = config
        self.device = device
        self.seed = seed
        self.log = log or logging.getLogger(f"zssar.methods.{self.name}")

    # -- configuration -----------------------------------------------------------------
    @classmethod
    def default_config(cls, dataset: str | None = None):
        cfg = cls.Config()
        overrides = cls.DATASET_DEFAULTS.get(dataset or "", {})
        return dataclasses.replace(cfg, **overrides) if overrides else cfg

    @property
    def leaks_unseen_text(self) -> bool:
        """True when this run trains with unseen-class text (recorded in the result)."""
        return self.uses_unseen_text

    def identity_text(self, dataset: str, class_names: list[str]) -> dict:
        """Side information this method reads by itself, outside `requires.text_sources` (e.g.
        SkeletonContext's context pack), as JSON-able data. The runner hashes it into the run key,
        so editing it invalidates finished runs exactly as editing a text source does. Default:
        none (and then the run key has no such field)."""
        return {}

    # -- the two calls ---------------------------------------------------------------
    def fit(self, train: MethodData, seen_text: ClassText, all_text: ClassText | None = None) -> dict:
        """Train on seen classes. `all_text` is passed only when `leaks_unseen_text`."""
        raise NotImplementedError

    def predict(self, test: MethodData, candidates: ClassText) -> Prediction:
        raise NotImplementedError

    def extra_metrics(self, pred: Prediction, labels: np.ndarray, candidates: ClassText) -> dict[str, float]:
        """Labelled non-headline metrics (e.g. upstream oracle rules). Default: none."""
        return {}


def config_to_dict(cfg) -> dict:
    return dataclasses.asdict(cfg)


def apply_overrides(cfg, overrides: dict[str, str], method_name: str):
    """Apply `--set key=value` strings to a config dataclass, type-checked.

    Keys may be prefixed with the method name (`neuron.spatial_compression=false`).
    """
    fields = {f.name: f for f in dataclasses.fields(cfg)}
    hints = typing.get_type_hints(type(cfg))
    changes = {}
    for raw_key, raw_value in overrides.items():
        key = raw_key.split(".", 1)[1] if raw_key.startswith(method_name + ".") else raw_key
        if key not in fields:
            from zssar.data.registry import unknown_name_error
            raise unknown_name_error(f"config key for method {method_name}", key, fields)
        changes[key] = parse_value(raw_value, hints[key], f"{method_name}.{key}")
    return dataclasses.replace(cfg, **changes)


def parse_value(text: str, typ, where: str):
    import yaml
    origin = typing.get_origin(typ)
    args = typing.get_args(typ)
    if origin is typing.Union or (origin is not None and str(origin) == "<class 'types.UnionType'>"):
        if text.lower() in ("none", "null") and type(None) in args:
            return None
        typ = next(a for a in args if a is not type(None))
        origin = typing.get_origin(typ)
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        value = text
    ok = {
        bool: lambda v: isinstance(v, bool),
        int: lambda v: isinstance(v, int) and not isinstance(v, bool),
        float: lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        str: lambda v: True,
    }
    if typ in ok:
        if typ is str:
            return str(text)
        if not ok[typ](value):
            raise ValueError(f"--set {where}={text}: expected {typ.__name__}")
        return typ(value)
    container = origin if origin in (tuple, list) else typ if typ in (tuple, list) else None
    if container is not None:
        if not isinstance(value, list):
            raise ValueError(f"--set {where}={text}: expected a list like [1, 2]")
        return container(value)
    return value
