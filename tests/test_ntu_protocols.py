"""NTU class names, protocols (sample counts vs the official statistics) and the module API."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from zssar.data import ntu
from zssar.data.ntu_skeleton import parse_name
from zssar.data.registry import dataset_module

# official train/test counts after removing the samples with missing skeletons
COUNTS = {("ntu60", "xsub"): (40091, 16487), ("ntu60", "xview"): (37646, 18932),
          ("ntu120", "xsub"): (63026, 50919), ("ntu120", "xset"): (54468, 59477)}


def meta_from_statistics(shared, dataset: str) -> pd.DataFrame:
    names = (shared / "data" / "ntu_statistics" / dataset / "skes_available_name.txt").read_text().split()
    return pd.DataFrame([parse_name(n) for n in names])


@pytest.mark.shared
@pytest.mark.parametrize("dataset", ["ntu60", "ntu120"])
def test_protocol_counts_match_official(shared, dataset):
    meta = meta_from_statistics(shared, dataset)
    stats = shared / "data" / "ntu_statistics" / dataset
    # the name-derived meta equals the statistics files upstream splits with
    for field, fname in (("setup", "setup"), ("camera", "camera"), ("subject", "performer"),
                         ("replication", "replication"), ("action", "label")):
        np.testing.assert_array_equal(meta[field].to_numpy(), np.loadtxt(stats / f"{fname}.txt", dtype=int))
    mod = dataset_module(dataset)
    for protocol in mod.PROTOCOLS:
        train = mod.train_mask(meta, protocol)
        assert (int(train.sum()), int((~train).sum())) == COUNTS[(dataset, protocol)], protocol
        p = ntu.VARIANTS[dataset].protocols[protocol]
        assert set(meta[p.field]) <= set(p.train_values) | set(p.test_values)  # every sample is placed


@pytest.mark.shared
def test_missing_lists_are_disjoint_from_available(shared):
    for dataset, fname in (("ntu60", "samples_with_missing_skeletons.txt"),
                           ("ntu120", "NTU_RGBD120_samples_with_missing_skeletons.txt")):
        d = shared / "data" / "ntu_statistics" / dataset
        missing = ntu.read_missing_list(d / fname)
        assert len(missing) == {"ntu60": 302, "ntu120": 535}[dataset]
        assert not missing & set((d / "skes_available_name.txt").read_text().split())


def test_protocol_definitions():
    v60, v120 = ntu.VARIANTS["ntu60"], ntu.VARIANTS["ntu120"]
    assert len(v60.protocols["xsub"].train_values) == 20 and len(v120.protocols["xsub"].train_values) == 53
    # NTU-120's list restricted to the NTU-60 subjects is NTU-60's list
    assert tuple(s for s in v120.protocols["xsub"].train_values if s <= 40) == v60.protocols["xsub"].train_values
    assert v60.protocols["xview"].train_values == (2, 3)
    assert v120.protocols["xset"].train_values == tuple(range(2, 33, 2))
    meta = pd.DataFrame({"setup": [1, 2], "camera": [1, 2], "subject": [1, 3], "replication": [1, 1]})
    assert ntu.train_mask(meta, "xsub", "ntu60").tolist() == [True, False]
    assert ntu.train_mask(meta, "xview", "ntu60").tolist() == [False, True]
    assert ntu.train_mask(meta, "xset", "ntu120").tolist() == [False, True]
    with pytest.raises(KeyError, match="xset"):
        ntu.train_mask(meta, "xset", "ntu60")


def test_class_names_and_module_api():
    assert len(ntu.CLASS_NAMES) == 120 and len(set(ntu.CLASS_NAMES)) == 120
    assert ntu.CLASS_NAMES[0] == "drink water"
    assert ntu.CLASS_NAMES[57] == "handshaking"
    assert ntu.CLASS_NAMES[119] == "finger-guessing game (playing rock-paper-scissors)"
    for name, n, protocols in (("ntu60", 60, {"xsub", "xview"}), ("ntu120", 120, {"xsub", "xset"})):
        mod = dataset_module(name)
        assert mod.CLASS_NAMES == ntu.CLASS_NAMES[:n]
        assert mod.LAYOUT == "ntu25" and mod.DEFAULT_PROTOCOL == "xsub"
        assert set(mod.PROTOCOLS) == protocols
        assert mod.default_raw() is None


@pytest.mark.shared
def test_class_names_agree_with_star_labels(shared):
    """STAR's shortened names: same class at each index (loose word overlap)."""
    star = [line.strip() for line in (shared / "semantics/star/ntu120_label.txt").read_text().splitlines()
            if line.strip()]
    assert len(star) == 120
    synonyms = {"hands up (both hands)": "capitulate"}  # STAR's word for A095
    stem = lambda w: w.strip("()/,.").lower()[:4]  # noqa: E731
    unmatched = []
    for ours, theirs in zip(ntu.CLASS_NAMES, star):
        ours_words = {stem(w) for part in synonyms.get(ours, ours).split("/") for w in part.split()}
        theirs_words = {stem(w) for part in theirs.split("/") for w in part.split()}
        if not ours_words & theirs_words:
            unmatched.append((ours, theirs))
    assert not unmatched
