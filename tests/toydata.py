"""A tiny in-memory dataset and a transparent method, for testing the harness itself."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from methods.base import Method, Prediction, Requirements
from zssar.data.dataset import Sample, SkeletonDataset

TOY_CLASSES = ["wave left arm", "wave right arm", "kick left leg", "kick right leg",
               "nod head", "bend torso", "raise both arms", "jump", "clap hands", "turn around"]


def toy_dataset(n_per_class: int = 6, subjects: int = 4, seed: int = 0) -> SkeletonDataset:
    rng = np.random.default_rng(seed)
    samples = []
    for c in range(len(TOY_CLASSES)):
        for i in range(n_per_class):
            t = int(rng.integers(10, 16))
            joints = rng.normal(0, 0.01, size=(3, t, 25, 1)).astype(np.float32)
            joints[:, :, c % 25, 0] += np.sin(np.linspace(0, 3, t))[None, :] * (1 + c)  # class signal
            subject = 1 + i % subjects
            samples.append(Sample(f"toy{c:02d}_{i:02d}", c, joints, {"subject": subject}))
    return SkeletonDataset.from_samples(
        samples, name="toy", class_names=TOY_CLASSES, layout="ntu25",
        manifest={"protocols": {"xsub": {"field": "subject", "train_values": [1, 2, 3]}},
                  "default_protocol": "xsub", "version": "toy-1", "synthetic": True})


@dataclass
class ToyConfig:
    scale: float = 1.0
    fail_in_fit: bool = False
    invert: bool = False  # negated scores: a deliberately bad configuration (tuning tests)


class ToyMethod(Method):
    """Scores = -distance between a raw-joint summary and a per-class mean (unseen: text id).

    It records every sample id it is shown, so tests can check what the runner feeds it.
    """
    name = "toy"
    version = "0.1"
    paper = "test fixture"
    Config = ToyConfig
    requires = Requirements(features=False, raw=True, text_sources=("names",))
    seen_ids: list = []
    calls: list = []

    def fit(self, train, seen_text, all_text=None):
        if self.config.fail_in_fit and len(ToyMethod.calls) >= 2:
            raise RuntimeError("simulated crash")
        ToyMethod.calls.append(("fit", list(train.sample_ids), list(seen_text.class_ids)))
        return {"n": len(train)}

    def predict(self, test, candidates):
        ToyMethod.calls.append(("predict", list(test.sample_ids), list(candidates.class_ids)))
        feats = np.array([np.abs(test.raw.joints(i)).mean(axis=(0, 1, 3)) for i in range(len(test))])
        ids = np.array(candidates.class_ids)
        scores = -np.abs(feats.argmax(1)[:, None] - ids[None, :]).astype(np.float32) * self.config.scale
        if self.config.invert:
            scores = -scores
        return Prediction(scores, heads={"half": scores * 0.5})


class SpyEncoder:
    """Text-encoder double: looks sentences up in a table and records every sentence it
    was asked to encode (to prove which text reaches training)."""
    id = "spy"

    def __init__(self, table):
        self.table, self.encoded = table, []

    def encode(self, texts):
        import torch
        self.encoded.extend(texts)
        return torch.stack([self.table[t] for t in texts])


class RecordingEncoder:
    """Text-encoder double: deterministic pseudo-embeddings per sentence (seeded by its
    hash); remembers every sentence it embedded."""
    id = "fake"

    def __init__(self, dim: int = 24):
        self.dim = dim
        self.seen: list[str] = []

    def encode(self, texts):
        import hashlib

        import torch
        self.seen += list(texts)
        return torch.stack([torch.randn(self.dim, generator=torch.Generator().manual_seed(
            int(hashlib.md5(t.encode()).hexdigest()[:8], 16))) for t in texts])


def assert_blind_to_test(calls, toy: SkeletonDataset, split) -> None:
    """Every recorded ToyMethod call of a selection saw only training subjects (1-3), no unseen-class
    sample or text, and fitted without the split's validation classes."""
    ids, subjects = list(toy.sample_ids), toy.meta["subject"].to_numpy()
    for kind, sample_ids, classes in calls:
        rows = [ids.index(s) for s in sample_ids]
        assert set(subjects[rows]) <= {1, 2, 3}                     # training subjects only
        assert not set(toy.labels[rows]) & set(split.unseen)        # no unseen-class sample
        assert set(classes) <= set(split.seen)                      # no unseen-class text
        if kind == "fit":
            assert not set(classes) & set(split.validation_unseen)  # validation classes held out
