"""SkeletonContext: one test per mechanism (each fails if the mechanism is removed), the ablation
switches, and no unseen-class text in training. Uses a tiny random BERT with the MiniLM
vocabulary (masked_lm="tiny-random") so the whole file stays fast on CPU."""
from __future__ import annotations


import numpy as np
import pytest
import torch
import yaml

from methods.base import ClassText, MethodData, apply_overrides
from methods.skeletoncontext import Config, SkeletonContext
from methods.skeletoncontext.model import (DifferentialJointEncoder, KeyPartDecoupler, SkeletonContextNet,
                                           joint_prior, kpd_loss, masked_slot_count, part_is_active, ppm_ratio)
from zssar.data.layouts import KINECT_V1_20, NTU25
from toydata import RecordingEncoder


pytestmark = pytest.mark.usefixtures("one_torch_thread")


NAMES = ["drinking", "typing", "shooting", "watering", "sweeping", "painting"]
# one-word slot values (no shared articles), so reconstructing another class's slots scores ~0
SLOT_VALUES = [("kitchen", "cup", "mouth"), ("office", "keyboard", "desk"), ("gym", "ball", "hoop"),
               ("garden", "hose", "flowers"), ("hallway", "broom", "floor"), ("studio", "brush", "canvas")]
PARTS = [["hand", "head"], ["hand"], ["arm", "hand", "leg"], ["arm"], ["arm", "hip"], ["hand", "arm"]]


@pytest.fixture
def pack(tmp_path):
    doc = {"format": "zssar-context-pack/1", "dataset": "toy", "classes": [
        {"id": i, "name": n, "parts": PARTS[i], "variants": [
            {"environment": e, "body_part": "the hand", "object": o, "sub_action": "move", "target": t}]}
        for i, (n, (e, o, t)) in enumerate(zip(NAMES, SLOT_VALUES))]}
    path = tmp_path / "toy_context.yaml"
    path.write_text(yaml.safe_dump(doc))
    return str(path)


def make_text(encoder=None) -> ClassText:
    sents = {"names": [[n] for n in NAMES], "templates": [[f"a person {n}.", f"someone is {n}."] for n in NAMES]}
    return ClassText(list(range(len(NAMES))), NAMES, sents, encoder or RecordingEncoder(), {}, "toy")


def make_data(classes, per_class=24, joints=25, frames=4, channels=16, seed=0) -> MethodData:
    g = torch.Generator().manual_seed(seed)
    protos = torch.randn(len(NAMES), joints, channels, generator=torch.Generator().manual_seed(123))
    y = torch.tensor(classes).repeat(per_class)
    maps = protos[y][:, None] + 0.3 * torch.randn(len(y), frames, joints, channels, generator=g)
    layout = NTU25 if joints == 25 else KINECT_V1_20
    return MethodData(np.arange(len(y)), y, maps=maps, layout=layout)


def fast_config(pack, **kw) -> Config:
    base = dict(context_pack=pack, masked_lm="tiny-random", epochs=3, batch_size=32, lr=3e-3,
                proj_hidden=64, kpd_hidden=32)
    base.update(kw)
    return Config(**base)


# -- DJE ----------------------------------------------------------------------------------------

def test_dje_difference_matrix_shape_and_antisymmetry():
    x = torch.randn(3, 7, 5)
    d = DifferentialJointEncoder.difference(x, x)
    assert d.shape == (3, 7, 7, 5)
    assert torch.allclose(d, -d.transpose(1, 2))
    assert torch.allclose(d[:, 2, 4], x[:, 2] - x[:, 4])


def test_dje_mixes_information_across_joints():
    torch.manual_seed(0)
    dje = DifferentialJointEncoder(8)
    joints = torch.randn(2, 6, 8)
    other = joints.clone()
    other[:, 3] = torch.randn(2, 8)  # change only joint 3
    out_a, out_b = dje(joints), dje(other)
    assert not torch.allclose(out_a[:, 0], out_b[:, 0])  # joint 0 sees joint 3 through the differences
    net_kw = dict(channels=8, joints=6, context_dim=4, part_dim=4, lm_hidden=8, context_prompt=False,
                  kpd=False, layers=1, heads=2, kpd_hidden=8, proj_hidden=8, dropout=0.0)
    off = SkeletonContextNet(dje=False, **net_kw)
    maps_a, maps_b = joints[:, None], other[:, None]
    # without DJE, joint 0's token does not depend on joint 3
    assert torch.allclose(off.skeleton_tokens(maps_a)[:, 1], off.skeleton_tokens(maps_b)[:, 1])


# -- PPM ----------------------------------------------------------------------------------------

def test_ppm_schedule_is_min_one_t_over_T():
    assert [ppm_ratio(t, 10) for t in (0, 4, 9, 15)] == [0.1, 0.5, 1.0, 1.0]
    counts = [masked_slot_count(ppm_ratio(e, 30), 3) for e in range(30)]
    assert counts[0] == 1 and counts[9] == 1 and counts[10] == 2 and counts[20] == 3 and counts[-1] == 3
    assert counts == sorted(counts)


def test_ppm_switch(pack):
    text, data = make_text(), make_data([0, 1, 2, 3], per_class=8)
    on = SkeletonContext(fast_config(pack, epochs=6, kpd=False, dje=False)).fit(data, text)
    assert [e["masked_slots"] for e in on["epochs"]] == [1, 1, 2, 2, 3, 3]
    off = SkeletonContext(fast_config(pack, epochs=2, ppm=False, kpd=False, dje=False)).fit(data, text)
    assert [e["masked_slots"] for e in off["epochs"]] == [3, 3]


# -- KPD ----------------------------------------------------------------------------------------

def test_kpd_loss_and_prior():
    prior = joint_prior([["head"], ["hand", "arm"]], NTU25.parts, 25)
    assert torch.allclose(prior.sum(1), torch.ones(2))
    assert set(prior[0].nonzero().flatten().tolist()) == set(NTU25.parts["head"])
    exact = prior[:, None].expand(2, 5, 25)
    assert float(kpd_loss(exact, prior)) == pytest.approx(0.0, abs=1e-6)
    uniform = torch.full((2, 5, 25), 1 / 25)
    assert float(kpd_loss(uniform, prior)) > 0.1
    # the calibration loss pulls the predicted importance towards the prior
    torch.manual_seed(0)
    kpd = KeyPartDecoupler(8, 16)
    maps = torch.randn(2, 5, 25, 8)
    opt = torch.optim.Adam(kpd.parameters(), lr=1e-2)
    first = None
    for _ in range(60):
        loss = kpd_loss(kpd(maps)[0], prior)
        first = first if first is not None else float(loss.detach())
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(loss.detach()) < 0.8 * first


def test_part_activity_from_descriptions():
    assert not part_is_active("Typically remains in place, providing support to the body.")
    assert not part_is_active("Often remains stable, providing a base for the upper body.")
    assert not part_is_active("Can shift weight slightly for balance.")
    assert part_is_active("Holds the toothbrush and moves it back and forth.")


def test_kpd_switch_disables_branch_and_loss(pack):
    text, data = make_text(), make_data([0, 1, 2], per_class=8)
    m = SkeletonContext(fast_config(pack, epochs=1, kpd=False, context_prompt=False))
    stats = m.fit(data, text)
    assert m.net.kpd is None and stats["kpd_prior"] == "off"
    assert all(e["kpd"] == 0 for e in stats["epochs"])
    m2 = SkeletonContext(fast_config(pack, epochs=1, context_prompt=False))
    stats2 = m2.fit(data, text)
    assert m2.net.kpd is not None and stats2["epochs"][0]["kpd"] > 0
    assert stats2["kpd_prior"] == "context pack `parts`"


# -- SCG: masked context reconstruction --------------------------------------------------------

def _reconstruction_accuracy(method, data, contexts, labels):
    """Accuracy of all-slot reconstruction for prompts of `labels`' classes given data's skeletons."""
    mlm = method.mlm
    masked = method.config.masked_slots
    batch = mlm.build_prompts(method.config.prompt_template, [contexts[c].variants[0] for c in labels],
                              [masked] * len(labels))
    with torch.no_grad():
        states = mlm.encode(batch.input_ids, batch.attention_mask)
        tokens = method.net.skeleton_tokens(data.maps.float())
        _, text_out = method.net.context_branch(tokens, states, batch.attention_mask == 0)
        return float(mlm.reconstruction(text_out, batch.labels)[1])


def test_masked_reconstruction_improves_and_needs_the_skeleton(pack):
    text, data = make_text(), make_data([0, 1, 2, 3], per_class=12)
    m = SkeletonContext(fast_config(pack, epochs=12, ppm=False, kpd=False, dje=False, lr=1e-2))
    stats = m.fit(data, text)
    accs = [e["ccr_acc"] for e in stats["epochs"]]
    assert accs[-1] > accs[0] + 0.3, accs
    assert stats["masked_lm"]["model"].startswith("tiny random BERT")
    contexts, _, _ = m._contexts(text.subset([0, 1, 2, 3]))
    labels = data.labels.tolist()
    right = _reconstruction_accuracy(m, data, contexts, labels)
    wrong = _reconstruction_accuracy(m, data, contexts, [(c + 1) % 4 for c in labels])  # other class's slots
    assert right > 0.8 and right > wrong + 0.5, (right, wrong)


def test_context_prompt_switch_skips_masked_lm(pack):
    m = SkeletonContext(fast_config(pack, epochs=1, context_prompt=False))
    stats = m.fit(make_data([0, 1, 2], per_class=6), make_text())
    assert stats["masked_lm"] is None and m.mlm is None and len(m.net.cross) == 0
    assert all(e["ccr"] == 0 for e in stats["epochs"])
    assert m.requires.masked_lm is False


def test_identity_text_follows_the_context_pack_content(pack, tmp_path):
    """The run key hashes identity_text: it must change when the pack's text changes (same
    path), and give the derived synthetic records for the synthetic dataset."""
    from pathlib import Path

    m = SkeletonContext(fast_config(pack))
    before = m.identity_text("toy", NAMES)
    assert [c["name"] for c in before["contexts"]] == NAMES
    assert before["contexts"][2]["variants"][0]["object"] == "ball"
    Path(pack).write_text(Path(pack).read_text().replace("ball", "rifle"))
    assert SkeletonContext(fast_config(pack)).identity_text("toy", NAMES) != before
    from zssar.data import synthetic as S
    synth = SkeletonContext(Config()).identity_text("synthetic", S.CLASS_NAMES)["contexts"]
    assert len(synth) == len(S.CLASS_NAMES)
    assert synth[0]["variants"][0]["body_part"] == "the left arm on the heart side of the body"


def test_identity_text_names_the_masked_lm_the_machine_would_load(pack, monkeypatch, tmp_path):
    """A run made with the MiniLM fallback must not be reused where bert-base-uncased is cached."""
    from methods.skeletoncontext import mlm
    cfg = fast_config(pack, masked_lm="bert-base-uncased")
    monkeypatch.setattr(mlm, "masked_lm_available", lambda name: False)
    fallback = SkeletonContext(cfg).identity_text("toy", NAMES)
    monkeypatch.setattr(mlm, "masked_lm_available", lambda name: True)
    real = SkeletonContext(cfg).identity_text("toy", NAMES)
    assert (fallback["masked_lm"], real["masked_lm"]) == ("minilm (fallback)", "bert-base-uncased")
    assert "masked_lm" not in SkeletonContext(fast_config(pack, context_prompt=False)).identity_text("toy", NAMES)
    monkeypatch.undo()
    assert mlm.masked_lm_available(str(tmp_path)) and not mlm.masked_lm_available("minilm")


# -- end to end, leakage, configuration ----------------------------------------------------------

def test_no_unseen_class_text_reaches_training(pack):
    enc = RecordingEncoder()
    full = make_text(enc)
    seen = full.subset([0, 1, 2, 3])
    m = SkeletonContext(fast_config(pack, epochs=1))
    assert m.leaks_unseen_text is False
    m.fit(make_data([0, 1, 2, 3], per_class=6), seen)
    unseen_words = {w for i in (4, 5) for w in (NAMES[i], *SLOT_VALUES[i][1:])}
    trained_on = " ".join(enc.seen + m.train_prompt_texts)
    assert enc.seen and m.train_prompt_texts
    assert not [w for w in unseen_words if w in trained_on]
    # ...while prediction may use the candidates' text
    pred = m.predict(make_data([4, 5], per_class=3), full.subset([4, 5]))
    assert pred.scores.shape == (6, 2)
    assert any("hose" in s for s in enc.seen)


def test_predict_fuses_heads_and_candidate_mode(pack):
    text, data = make_text(), make_data([0, 1, 2, 3], per_class=6, joints=20)
    m = SkeletonContext(fast_config(pack, epochs=1, fuse_weight=0.3))
    stats = m.fit(data, text.subset([0, 1, 2, 3]))
    assert stats["layout"] == "kinect_v1_20"
    test = make_data([4, 5, 0], per_class=2, joints=20)
    pred = m.predict(test, text)
    assert pred.scores.shape == (6, 6) and set(pred.heads) == {"context", "part"}
    assert np.allclose(pred.scores, 0.3 * pred.heads["context"] + 0.7 * pred.heads["part"], atol=1e-5)
    assert np.abs(pred.scores).max() <= 1.0 + 1e-5  # cosine scale: calibrated stacking is meaningful
    m.config = apply_overrides(m.config, {"skeletoncontext.test_prompt": "candidates"}, "skeletoncontext")
    cand = m.predict(test, text)
    assert cand.scores.shape == (6, 6) and not np.allclose(cand.heads["context"], pred.heads["context"])
    extra = m.extra_metrics(pred, text.column_of(test.labels).numpy(), text)
    labels = text.column_of(test.labels).numpy()
    either = (pred.heads["context"].argmax(1) == labels) | (pred.heads["part"].argmax(1) == labels)
    assert extra["oracle_either_head_top1"] == pytest.approx(100.0 * either.mean())  # percent, as every metric


def test_missing_pack_entries_are_an_error_and_unknown_datasets_fall_back(pack):
    text = ClassText([0, 1], ["jumping", "running"], {"names": [["jumping"], ["running"]],
                                                      "templates": [["jumping"], ["running"]]},
                     RecordingEncoder(), {}, "toy")
    with pytest.raises(ValueError, match="no entry for classes"):
        SkeletonContext(fast_config(pack, epochs=1)).fit(make_data([0, 1], per_class=4), text)
    stats = SkeletonContext(fast_config("", epochs=1)).fit(make_data([0, 1], per_class=4), text)
    assert stats["context_fallback_classes"] == ["jumping", "running"] and stats["context_pack"] is None


def test_requirements_follow_the_config():
    assert SkeletonContext.requires.text_sources == ("names", "templates")
    paper = SkeletonContext(SkeletonContext.default_config("ntu60"))
    assert {"spatial_fine", "temporal_3", "part_hand"} <= set(paper.requires.text_sources)
    assert paper.config.optimizer == "sgd" and paper.config.lr == 0.1 and paper.config.epochs == 30
    assert SkeletonContext.requires.maps and paper.requires.masked_lm
