"""Zero-shot (ZSL) and generalized zero-shot (GZSL) metrics. All accuracies are percent (0-100).

Conventions shared by every function:

- ``scores`` is an (N, C) float array, higher = more likely; ``labels`` (N,) holds the column
  index of each sample's true class among the C candidates; ``seen_cols`` (C,) is True where
  the candidate class is a seen (training) class.
- **Ties are broken uniformly at random, in expectation.** A sample whose true class shares
  the top score with t-1 other classes earns 1/t instead of 1 or 0. This makes every metric
  independent of column order and gives a constant scorer exactly chance accuracy (argmax
  would give it 100% or 0% depending on where the true class happens to sit).
- **GZSL, calibrated stacking** (Chao et al., ECCV 2016): the calibration constant γ is
  subtracted from the seen columns before the argmax. Seen and unseen accuracy are top-1
  accuracies *averaged over samples* whose true class is seen (resp. unseen), as the ZSSAR
  papers (SynSE, SMIE, STAR, Neuron, SkeletonContext) report them; H is their harmonic mean.

Why the γ sweeps below are exact: for sample i let S_i (U_i) be its best seen (unseen) score.
The calibrated argmax lands in the seen group when S_i - γ > U_i, in the unseen group when
S_i - γ < U_i, and is a tie when γ equals the breakpoint d_i = S_i - U_i. Within a group the
decision never depends on γ. So accuracy as a function of γ is a step function that changes
only at the breakpoints d_i, and evaluating one γ per interval between consecutive breakpoints
visits every operating point the classifier has.

Protocols (the runner applies them; this module only computes):
- honest: γ = ``select_gamma`` on validation scores (pseudo-unseen classes carved out of the
  seen set), then ``gzsl_metrics`` on test scores with that γ;
- oracle (what upstream code does): ``select_gamma`` on the test scores themselves. Stored
  under ``metrics.oracle.*`` and always labelled oracle.
"""
from __future__ import annotations

import numpy as np

__all__ = ["topk_accuracy", "mean_class_accuracy", "per_class_accuracy", "zsl_metrics",
           "gzsl_accuracies", "gamma_grid", "select_gamma", "seen_unseen_curve", "ausuc", "gzsl_metrics",
           "harmonic_mean"]


# --------------------------------------------------------------------------------------
# input checks
# --------------------------------------------------------------------------------------
def _check(scores, labels, seen_cols=None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels)
    if scores.ndim != 2:
        raise ValueError(f"scores must be an (N, C) array, got shape {scores.shape}")
    n, c = scores.shape
    if labels.shape != (n,):
        raise ValueError(f"labels must have shape ({n},) to match scores {scores.shape}, got {labels.shape}")
    if n and not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be integer column indices, got dtype {labels.dtype}")
    if n and (labels.min() < 0 or labels.max() >= c):
        raise ValueError(f"labels must be column indices in 0..{c - 1}, got range "
                         f"{labels.min()}..{labels.max()}")
    if not np.isfinite(scores).all():
        raise ValueError("scores contain NaN or infinite values")
    if seen_cols is not None:
        seen_cols = np.asarray(seen_cols, dtype=bool)
        if seen_cols.shape != (c,):
            raise ValueError(f"seen_cols must have shape ({c},) to match scores {scores.shape}, "
                             f"got {seen_cols.shape}")
        if seen_cols.all() or not seen_cols.any():
            raise ValueError("seen_cols must mark some (not all) candidate classes as seen for GZSL")
    return scores, labels.astype(np.int64), seen_cols


def harmonic_mean(seen: float, unseen: float) -> float:
    """H = 2SU / (S + U); 0 when either accuracy is 0."""
    if seen <= 0 or unseen <= 0:
        return 0.0
    return float(2 * seen * unseen / (seen + unseen))


# --------------------------------------------------------------------------------------
# ZSL
# --------------------------------------------------------------------------------------
def _topk_credit(scores: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """Per-sample expected top-k hit under uniform random tie-breaking, in [0, 1]."""
    true = scores[np.arange(len(labels)), labels][:, None]
    higher = (scores > true).sum(axis=1)          # classes certainly ranked above the true one
    tied = (scores == true).sum(axis=1)           # the true class and its ties (>= 1)
    # the true class lands at a uniformly random rank among positions higher+1 .. higher+tied
    return np.clip((k - higher) / tied, 0.0, 1.0)


def topk_accuracy(scores, labels, k: int = 1) -> float:
    scores, labels, _ = _check(scores, labels)
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if len(labels) == 0:
        return float("nan")
    return float(100.0 * _topk_credit(scores, labels, k).mean())


def per_class_accuracy(scores, labels, num_classes: int) -> np.ndarray:
    """(num_classes,) top-1 accuracy of each class's samples; NaN for classes without samples."""
    scores, labels, _ = _check(scores, labels)
    credit = _topk_credit(scores, labels, 1)
    counts = np.bincount(labels, minlength=num_classes).astype(np.float64)
    hits = np.bincount(labels, weights=credit, minlength=num_classes)
    out = np.full(num_classes, np.nan)
    present = counts > 0
    out[present] = 100.0 * hits[present] / counts[present]
    return out


def mean_class_accuracy(scores, labels) -> float:
    """Mean of per-class top-1 accuracies over the classes present in `labels`."""
    scores, labels, _ = _check(scores, labels)
    if len(labels) == 0:
        return float("nan")
    return float(np.nanmean(per_class_accuracy(scores, labels, scores.shape[1])))


def zsl_metrics(scores, labels) -> dict:
    return {"zsl_top1": topk_accuracy(scores, labels, 1),
            "zsl_top5": topk_accuracy(scores, labels, 5),
            "zsl_mean_class_acc": mean_class_accuracy(scores, labels)}


# --------------------------------------------------------------------------------------
# GZSL: per-sample breakpoints and credits, then exact evaluation at any set of γ
# --------------------------------------------------------------------------------------
class _Breakpoints:
    """Per-sample quantities that determine GZSL accuracy at every γ.

    d:      breakpoint S_i - U_i (seen group wins for γ < d, unseen group for γ > d)
    own:    credit if the sample's own group wins (1/t when the true class is among t tied
            group maxima, else 0)
    at_tie: credit when γ == d exactly (the tied set spans both groups)
    """

    def __init__(self, scores, labels, seen_cols):
        scores, labels, seen_cols = _check(scores, labels, seen_cols)
        n = len(labels)
        if n == 0:
            raise ValueError("GZSL metrics need at least one sample")
        seen_s, unseen_s = scores[:, seen_cols], scores[:, ~seen_cols]
        best_seen, best_unseen = seen_s.max(axis=1), unseen_s.max(axis=1)
        n_top_seen = (seen_s == best_seen[:, None]).sum(axis=1)
        n_top_unseen = (unseen_s == best_unseen[:, None]).sum(axis=1)
        true = scores[np.arange(n), labels]
        self.true_seen = seen_cols[labels]
        at_group_top = np.where(self.true_seen, true == best_seen, true == best_unseen)
        n_top_own = np.where(self.true_seen, n_top_seen, n_top_unseen)
        self.d = best_seen - best_unseen
        self.own = at_group_top / n_top_own
        self.at_tie = at_group_top / (n_top_seen + n_top_unseen)
        if not self.true_seen.any() or self.true_seen.all():
            raise ValueError("GZSL metrics need test samples of both seen and unseen classes "
                             f"(got {int(self.true_seen.sum())} seen, {int((~self.true_seen).sum())} unseen)")

    def accuracies(self, gammas) -> tuple[np.ndarray, np.ndarray]:
        """(seen_acc, unseen_acc) in percent at each γ, exactly, in O((N + G) log N)."""
        gammas = np.atleast_1d(np.asarray(gammas, dtype=np.float64))
        out = []
        for group_is_seen in (True, False):
            mask = self.true_seen == group_is_seen
            order = np.argsort(self.d[mask], kind="stable")
            d = self.d[mask][order]
            own = np.concatenate([[0.0], np.cumsum(self.own[mask][order])])
            tie = np.concatenate([[0.0], np.cumsum(self.at_tie[mask][order])])
            lo = np.searchsorted(d, gammas, side="left")   # samples with d < γ
            hi = np.searchsorted(d, gammas, side="right")  # samples with d <= γ
            tied = tie[hi] - tie[lo]
            if group_is_seen:  # seen samples are won by the seen group while d > γ
                wins = own[-1] - own[hi]
            else:              # unseen samples are won by the unseen group while d < γ
                wins = own[lo]
            out.append(100.0 * (wins + tied) / mask.sum())
        return out[0], out[1]

    def interval_gammas(self) -> np.ndarray:
        """One γ inside every interval between consecutive distinct breakpoints, plus one beyond
        each end: together they reach every operating point of the classifier."""
        d = np.unique(self.d)
        if len(d) == 1:
            margin = max(abs(d[0]), 1.0)
        else:
            margin = 0.5 * (d[-1] - d[0]) / (len(d) - 1)  # half the mean gap
        mids = (d[:-1] + d[1:]) / 2
        return np.concatenate([[d[0] - margin], mids, [d[-1] + margin]])


def gzsl_accuracies(scores, labels, seen_cols, gamma: float = 0.0) -> tuple[float, float, float]:
    """(seen, unseen, H) with calibrated stacking at `gamma` (subtracted from seen columns).

    Seen (unseen) accuracy is averaged over the samples whose true class is seen (unseen).
    """
    bp = _Breakpoints(scores, labels, seen_cols)
    s, u = bp.accuracies([gamma])
    return float(s[0]), float(u[0]), harmonic_mean(float(s[0]), float(u[0]))


def gamma_grid(scores, seen_cols, num: int = 201) -> np.ndarray:
    """`num` evenly spaced γ spanning every breakpoint S_i - U_i of these scores, plus 0.

    The range runs slightly beyond the smallest and largest breakpoint, so both extremes
    (everything predicted seen / everything predicted unseen) are on the grid.
    """
    scores = np.asarray(scores, dtype=np.float64)
    _check(scores, np.zeros(len(scores), dtype=np.int64), seen_cols)
    seen_cols = np.asarray(seen_cols, dtype=bool)
    if num < 2:
        raise ValueError(f"num must be >= 2, got {num}")
    d = scores[:, seen_cols].max(axis=1) - scores[:, ~seen_cols].max(axis=1)
    lo, hi = float(d.min()), float(d.max())
    pad = 1e-6 * max(hi - lo, abs(lo), abs(hi), 1.0)
    grid = np.linspace(lo - pad, hi + pad, num)
    return np.unique(np.concatenate([grid, [0.0]]))


def _best(gammas: np.ndarray, seen: np.ndarray, unseen: np.ndarray) -> tuple[float, float]:
    h = np.array([harmonic_mean(s, u) for s, u in zip(seen, unseen)])
    best = h.max()
    # ties -> the smallest |γ| (the least calibration that achieves the best H)
    candidates = np.flatnonzero(h == best)
    pick = candidates[np.argmin(np.abs(gammas[candidates]))]
    return float(gammas[pick]), float(best)


def select_gamma(scores, labels, seen_cols, grid=None) -> tuple[float, float]:
    """The γ that maximises H on exactly these scores, and that H.

    With ``grid=None`` the search is exact: 0 plus one γ per interval between breakpoints
    (see the module docstring). With a grid, only the grid's γ are tried. Ties go to the
    smallest |γ|. The function is pure: it reads nothing but its arguments, so calling it
    on validation scores cannot see test data.
    """
    bp = _Breakpoints(scores, labels, seen_cols)
    gammas = bp.interval_gammas() if grid is None else np.asarray(grid, dtype=np.float64).ravel()
    if grid is None:
        gammas = np.concatenate([[0.0], gammas])
    if len(gammas) == 0:
        raise ValueError("select_gamma: the grid is empty")
    seen, unseen = bp.accuracies(gammas)
    return _best(gammas, seen, unseen)


def seen_unseen_curve(scores, labels, seen_cols) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every operating point of calibrated stacking, ordered by increasing γ.

    Returns (seen_accs, unseen_accs, gammas): one γ per interval between consecutive
    breakpoints plus one beyond each end. Seen accuracy falls and unseen accuracy rises
    along the curve; the first point predicts every sample seen, the last every sample unseen.
    """
    bp = _Breakpoints(scores, labels, seen_cols)
    gammas = bp.interval_gammas()
    seen, unseen = bp.accuracies(gammas)
    return seen, unseen, gammas


def ausuc(scores, labels, seen_cols) -> float:
    """Area under the seen-unseen accuracy curve (Chao et al. 2016), in [0, 100].

    The exact curve (all operating points) is joined by straight lines, x = unseen accuracy,
    y = seen accuracy, both as fractions; the area of the unit square is scaled to 100.
    """
    seen, unseen, _ = seen_unseen_curve(scores, labels, seen_cols)
    # unseen accuracy is non-decreasing along increasing γ, so x is already sorted
    return float(np.trapezoid(seen / 100.0, unseen / 100.0) * 100.0)


def gzsl_metrics(scores, labels, seen_cols, gamma: float) -> dict:
    s, u, h = gzsl_accuracies(scores, labels, seen_cols, gamma)
    return {"gzsl_seen": s, "gzsl_unseen": u, "gzsl_h": h, "gzsl_gamma": float(gamma)}
