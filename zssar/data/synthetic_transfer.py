"""Does text about unseen synthetic classes really help? A backbone-free sanity check.

Hand-crafted features of the raw joints (view-normalised positions and velocities per body)
are mapped by ridge regression onto the text embedding of each sample's class, fitted on
the seen classes of the training subjects; test samples of unseen classes (test subjects)
are assigned to the nearest unseen class embedding (ZSL top-1). A *shuffled* control gives
every class another class's text: transfer must then fall to chance.

Used by `benchmarks/synthetic_transfer.py` (all splits of the family) and by the tests.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from zssar.data.dataset import SkeletonDataset
from zssar.data.layouts import NTU25

J = {name: i for i, name in enumerate(NTU25.joint_names)}


@dataclass(frozen=True)
class TransferConfig:
    ridge: float = 10.0          # L2 penalty of the feature -> text map (on standardised features)
    shuffle_seed: int = 0        # class-text permutations of the control (a new one per split)
    protocol: str = "xsub"


def _canonical_frame(j: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Origin and rotation that put body 0's pelvis at 0 and its left hip on +x (first frame)."""
    origin = j[:, 0, J["spine_base"], 0]
    hips = j[:, 0, J["left_hip"], 0] - j[:, 0, J["right_hip"], 0]
    angle = np.arctan2(hips[2], hips[0])  # rotate about y so the hip vector lies along +x
    c, s = np.cos(angle), np.sin(angle)
    rot = np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])
    return origin, rot


# Finger joints add little beyond the hand and would only enlarge the ridge problem.
FEATURE_JOINTS = [i for i, n in enumerate(NTU25.joint_names) if not n.endswith(("hand_tip", "thumb"))]


def sample_features(j: np.ndarray) -> np.ndarray:
    """(C, T, V, M) joints -> a fixed-length vector: per body, mean/std of pelvis-relative joint
    positions and mean absolute joint velocity; plus the distance between bodies and the length."""
    origin, rot = _canonical_frame(j)
    x = np.einsum("ij,jtvm->itvm", rot, j - origin[:, None, None, None])  # (3, T, V, M)
    feats = []
    for m in range(x.shape[3]):
        body = x[..., m]
        rel = (body - body[:, :, J["spine_base"]:J["spine_base"] + 1])[:, :, FEATURE_JOINTS]
        vel = np.diff(body[:, :, FEATURE_JOINTS], axis=1)
        stats = [rel.mean(1).ravel(), rel.std(1).ravel(), np.abs(vel).mean(1).ravel()]
        present = np.abs(j[..., m]).sum() > 0  # absent second body: zeros, not artefacts of the centring
        feats += stats if present else [np.zeros_like(f) for f in stats]
    gap = np.linalg.norm(x[:, :, J["spine_base"], 0] - x[:, :, J["spine_base"], -1], axis=0)
    gap = gap if np.abs(j[..., -1]).sum() > 0 else np.zeros_like(gap)
    feats.append(np.array([gap.mean(), gap[-1] - gap[0], j.shape[1] / 60.0]))
    return np.concatenate(feats).astype(np.float32)


def dataset_features(ds: SkeletonDataset) -> np.ndarray:
    return np.stack([sample_features(ds.joints(i)) for i in range(len(ds))])


def class_embeddings(sentences: list[list[str]], encoder) -> np.ndarray:
    """(C, D) unit-norm mean embedding of each class's sentences."""
    flat = [s for per in sentences for s in per]
    emb = encoder.encode(flat).numpy()
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    out, start = [], 0
    for per in sentences:
        out.append(emb[start:start + len(per)].mean(0))
        start += len(per)
    out = np.stack(out)
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def zsl_top1(feats: np.ndarray, labels: np.ndarray, train: np.ndarray, text: np.ndarray,
             seen: list[int], unseen: list[int], ridge: float) -> tuple[float, np.ndarray]:
    """Fit features -> text on seen training samples; classify unseen test samples.

    Returns (top-1 accuracy, per-sample correctness of the evaluated samples)."""
    fit = train & np.isin(labels, seen)
    evaluate = ~train & np.isin(labels, unseen)
    mu, sd = feats[fit].mean(0), feats[fit].std(0) + 1e-6
    x = (feats - mu) / sd
    xf, yf = x[fit], text[labels[fit]]
    w = np.linalg.solve(xf.T @ xf + ridge * len(xf) * np.eye(x.shape[1]), xf.T @ yf)
    pred = x[evaluate] @ w
    pred /= np.linalg.norm(pred, axis=1, keepdims=True) + 1e-9
    cand = np.asarray(unseen)
    guess = cand[np.argmax(pred @ text[cand].T, axis=1)]
    correct = guess == labels[evaluate]
    return float(correct.mean()), correct


def evaluate_splits(ds: SkeletonDataset, splits, text: dict[str, np.ndarray], cfg: TransferConfig = TransferConfig(),
                    feats: np.ndarray | None = None) -> list[dict]:
    """One row per (split, text variant): top-1, chance and accuracy per novelty tier.

    `text` maps a variant name (e.g. 'names', 'descriptions') to (num_classes, D) embeddings;
    a '<variant>_shuffled' control is added for each (a different permutation per split, so the
    mean over a family averages many permutations)."""
    from zssar.data.registry import partition
    feats = dataset_features(ds) if feats is None else feats
    labels = ds.labels
    train, _ = partition(ds, cfg.protocol)
    rows = []
    for k, split in enumerate(splits):
        perm = np.random.default_rng([cfg.shuffle_seed, k]).permutation(ds.num_classes)
        variants = dict(text)
        variants.update({f"{name}_shuffled": emb[perm] for name, emb in text.items()})
        test_labels = labels[~train & np.isin(labels, split.unseen)]
        for name, emb in variants.items():
            acc, correct = zsl_top1(feats, labels, train, emb, list(split.seen), list(split.unseen), cfg.ridge)
            row = {"split": split.name, "text": name, "top1": acc, "chance": 1.0 / len(split.unseen)}
            for tier in sorted(set(split.tiers.values())):
                in_tier = np.isin(test_labels, [c for c, t in split.tiers.items() if t == tier])
                row[f"tier:{tier}"] = float(correct[in_tier].mean()) if in_tier.any() else float("nan")
            rows.append(row)
    return rows
