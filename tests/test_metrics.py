"""Metrics against values worked out by hand (see the comments next to each matrix)."""
from __future__ import annotations

import numpy as np
import pytest

from zssar import metrics

# ZSL example: 4 samples, 3 classes
#   s0 true 0: top                              -> 1
#   s1 true 2: 0.3 < 0.5 -> rank 2               -> top-1 0, top-2 1
#   s2 true 1: tied with class 0 at 0.4          -> top-1 1/2, top-2 1
#   s3 true 2: top                              -> 1
ZSL_SCORES = np.array([[0.9, 0.1, 0.0],
                       [0.2, 0.5, 0.3],
                       [0.4, 0.4, 0.2],
                       [0.1, 0.2, 0.7]])
ZSL_LABELS = np.array([0, 2, 1, 2])

# GZSL example: columns 0, 1 seen, column 2 unseen. Breakpoint d = best seen - best unseen.
#   a [3,1,2] true 0 (seen)   d = 1
#   b [1,2,4] true 1 (seen)   d = -2
#   c [2,0,1] true 2 (unseen) d = 1
#   d [0,1,5] true 2 (unseen) d = -4
# operating points (seen %, unseen %):  γ<-4: (100, 0)   -4<γ<-2: (100, 50)
#                                       -2<γ<1: (50, 50)  γ>1: (0, 100)
# at γ = 1 (a tie for a and c): a earns 1/2, c earns 1/2 -> (25, 75)
GZSL_SCORES = np.array([[3., 1., 2.],
                        [1., 2., 4.],
                        [2., 0., 1.],
                        [0., 1., 5.]])
GZSL_LABELS = np.array([0, 1, 2, 2])
SEEN = np.array([True, True, False])


def test_topk_hand_values_with_ties():
    assert metrics.topk_accuracy(ZSL_SCORES, ZSL_LABELS, 1) == pytest.approx(62.5)
    assert metrics.topk_accuracy(ZSL_SCORES, ZSL_LABELS, 2) == pytest.approx(100.0)
    # k >= number of candidates: everything is a hit
    assert metrics.topk_accuracy(ZSL_SCORES, ZSL_LABELS, 5) == pytest.approx(100.0)


def test_constant_scores_give_chance_not_order_dependent_luck():
    scores = np.zeros((6, 3))
    assert metrics.topk_accuracy(scores, np.array([0, 1, 2, 0, 1, 2]), 1) == pytest.approx(100 / 3)
    assert metrics.topk_accuracy(scores, np.array([0, 1, 2, 0, 1, 2]), 2) == pytest.approx(200 / 3)


def test_per_class_and_mean_class_accuracy():
    per = metrics.per_class_accuracy(ZSL_SCORES, ZSL_LABELS, 4)
    np.testing.assert_allclose(per[:3], [100.0, 50.0, 50.0])
    assert np.isnan(per[3])  # class without samples
    assert metrics.mean_class_accuracy(ZSL_SCORES, ZSL_LABELS) == pytest.approx(200 / 3)


def test_zsl_metrics_keys_and_values():
    m = metrics.zsl_metrics(ZSL_SCORES, ZSL_LABELS)
    assert m == pytest.approx({"zsl_top1": 62.5, "zsl_top5": 100.0, "zsl_mean_class_acc": 200 / 3})


@pytest.mark.parametrize("gamma, expected", [
    (0.0, (50.0, 50.0, 50.0)),
    (1.0, (25.0, 75.0, 37.5)),      # breakpoint of a and c: half credit each
    (1.5, (0.0, 100.0, 0.0)),       # H is 0 when one side is 0
    (-3.0, (100.0, 50.0, 200 / 3)),
    (-5.0, (100.0, 0.0, 0.0)),
])
def test_gzsl_accuracies_hand_values(gamma, expected):
    got = metrics.gzsl_accuracies(GZSL_SCORES, GZSL_LABELS, SEEN, gamma)
    assert got == pytest.approx(expected)


def test_gzsl_metrics_dict():
    m = metrics.gzsl_metrics(GZSL_SCORES, GZSL_LABELS, SEEN, -3.0)
    assert m == pytest.approx({"gzsl_seen": 100.0, "gzsl_unseen": 50.0, "gzsl_h": 200 / 3, "gzsl_gamma": -3.0})


def _brute_gzsl(scores, labels, seen_cols, gamma):
    """Independent reference: subtract γ, then expected top-1 hit with random tie-breaking."""
    adjusted = scores - gamma * seen_cols[None, :]
    credit = []
    for row, y in zip(adjusted, labels):
        top = np.flatnonzero(row == row.max())
        credit.append(1 / len(top) if y in top else 0.0)
    credit = np.array(credit)
    true_seen = seen_cols[labels]
    return 100 * credit[true_seen].mean(), 100 * credit[~true_seen].mean()


def test_gzsl_matches_brute_force_on_tied_integer_scores():
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 4, size=(60, 7)).astype(float)  # many ties, many equal breakpoints
    labels = rng.integers(0, 7, size=60)
    seen = np.array([True, True, True, True, False, False, False])
    for gamma in [-3.0, -2.0, -1.5, -1.0, 0.0, 0.5, 1.0, 2.0, 3.0, 3.5]:
        s, u, _ = metrics.gzsl_accuracies(scores, labels, seen, gamma)
        bs, bu = _brute_gzsl(scores, labels, seen, gamma)
        assert (s, u) == pytest.approx((bs, bu)), gamma


def test_seen_unseen_curve_is_exact():
    seen, unseen, gammas = metrics.seen_unseen_curve(GZSL_SCORES, GZSL_LABELS, SEEN)
    # breakpoints -4, -2, 1; margin = half the mean gap = 1.25
    np.testing.assert_allclose(gammas, [-5.25, -3.0, -0.5, 2.25])
    np.testing.assert_allclose(seen, [100, 100, 50, 0])
    np.testing.assert_allclose(unseen, [0, 50, 50, 100])


def test_ausuc_of_known_curve():
    # points (unseen, seen): (0,100) (50,100) (50,50) (100,0)
    # area (fractions): 0.5*1 + 0 + 0.5*(0.5+0)/2 = 0.625
    assert metrics.ausuc(GZSL_SCORES, GZSL_LABELS, SEEN) == pytest.approx(62.5)


def test_perfect_classifier_scores_100_everywhere():
    labels = np.array([0, 1, 2, 3, 0, 3])
    scores = np.eye(4)[labels]
    seen = np.array([True, True, False, False])
    assert metrics.topk_accuracy(scores, labels) == 100.0
    assert metrics.gzsl_accuracies(scores, labels, seen, 0.0) == pytest.approx((100, 100, 100))
    assert metrics.ausuc(scores, labels, seen) == pytest.approx(100.0)
    gamma, h = metrics.select_gamma(scores, labels, seen)
    assert (gamma, h) == (0.0, 100.0)


def test_select_gamma_exact_search():
    gamma, h = metrics.select_gamma(GZSL_SCORES, GZSL_LABELS, SEEN)
    assert gamma == pytest.approx(-3.0)  # the only interval with (100, 50)
    assert h == pytest.approx(200 / 3)


def test_select_gamma_ties_go_to_smallest_abs_gamma():
    # γ = -0.5 and γ = 0 sit in the same interval (50, 50); 1.5 gives H = 0
    assert metrics.select_gamma(GZSL_SCORES, GZSL_LABELS, SEEN, grid=[-0.5, 0.0, 1.5]) == (0.0, 50.0)
    assert metrics.select_gamma(GZSL_SCORES, GZSL_LABELS, SEEN, grid=[-0.5, -0.25]) == (-0.25, 50.0)
    # equal |γ| on both sides of a tie: the exact search still prefers 0 when it is optimal
    labels = np.array([0, 1])
    assert metrics.select_gamma(np.eye(2)[labels], labels, np.array([True, False]))[0] == 0.0


def test_gamma_grid_covers_every_breakpoint_and_zero():
    grid = metrics.gamma_grid(GZSL_SCORES, SEEN, num=51)
    assert 0.0 in grid
    assert grid.min() < -4 and grid.max() > 1
    assert np.all(np.diff(grid) > 0)
    # a fine enough grid over the covered range finds the exact optimum
    assert metrics.select_gamma(GZSL_SCORES, GZSL_LABELS, SEEN, grid=grid)[1] == pytest.approx(200 / 3)


def test_select_gamma_reads_only_its_arguments():
    """Honest protocol: γ chosen on validation scores must not depend on anything else."""
    val_scores, val_labels, seen = GZSL_SCORES.copy(), GZSL_LABELS.copy(), SEEN.copy()
    for a in (val_scores, val_labels, seen):
        a.flags.writeable = False  # it must not modify its inputs either
    first = metrics.select_gamma(val_scores, val_labels, seen)
    # test data processed in between (different scores, different optimum) cannot leak in
    rng = np.random.default_rng(1)
    test_scores = rng.normal(size=(50, 3))
    test_labels = rng.integers(0, 3, size=50)
    oracle_gamma, oracle_h = metrics.select_gamma(test_scores, test_labels, seen)
    assert metrics.select_gamma(val_scores, val_labels, seen) == first
    # the honest γ applied to test is never better than the oracle γ
    honest = metrics.gzsl_metrics(test_scores, test_labels, seen, first[0])
    assert honest["gzsl_h"] <= oracle_h + 1e-12
    assert oracle_gamma != first[0]


def test_bad_input_is_rejected_clearly():
    with pytest.raises(ValueError, match="labels must have shape"):
        metrics.topk_accuracy(ZSL_SCORES, np.array([0, 1]))
    with pytest.raises(ValueError, match="column indices"):
        metrics.topk_accuracy(ZSL_SCORES, np.array([0, 1, 2, 3]))
    with pytest.raises(ValueError, match="NaN"):
        metrics.topk_accuracy(np.full((1, 2), np.nan), np.array([0]))
    with pytest.raises(ValueError, match="both seen and unseen"):
        metrics.gzsl_accuracies(GZSL_SCORES[:2], GZSL_LABELS[:2], SEEN)
    with pytest.raises(ValueError, match="some \\(not all\\)"):
        metrics.gzsl_accuracies(GZSL_SCORES, GZSL_LABELS, np.ones(3, bool))
