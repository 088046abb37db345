"""STAR plugin: each mechanism, each ablation switch, the text-leak guard, and that it learns."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from methods.base import ClassText, MethodData, apply_overrides
from methods.star import PART_SOURCES, STAR, Config
from methods.star.model import STARNet, part_groups, star_losses
from zssar.data.layouts import BODY_PARTS, KINECT_V1_20, NTU25
from toydata import SpyEncoder

SOURCES = ("names", "descriptions", *PART_SOURCES)


def toy_world(n_classes=8, text_dim=16, feat_dim=12, frames=4, layout=NTU25, per_class=16, seed=0):
    """Classes have latent codes; text and skeleton maps are noisy linear views of them, so a
    mapping learned on seen classes transfers to unseen ones."""
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n_classes, 5, generator=g)
    table, sentences = {}, {}
    for s in SOURCES:
        proj = torch.randn(5, text_dim, generator=g)
        sentences[s] = [[f"{s} / class {c}"] for c in range(n_classes)]
        for c in range(n_classes):
            table[sentences[s][c][0]] = z[c] @ proj + 0.05 * torch.randn(text_dim, generator=g)
    enc = SpyEncoder(table)
    v = layout.num_joints
    joint_proj = torch.randn(v, 5, feat_dim, generator=g) / 5 ** 0.5
    labels = torch.arange(n_classes).repeat_interleave(per_class)
    zz = z[labels] + 0.2 * torch.randn(len(labels), 5, generator=g)
    maps = torch.relu(torch.einsum("nl,vlc->nvc", zz, joint_proj)[:, None].expand(-1, frames, -1, -1)
                      + 0.1 * torch.randn(len(labels), frames, v, feat_dim, generator=g))
    text = ClassText(list(range(n_classes)), [f"class {c}" for c in range(n_classes)], sentences, enc)
    return maps.contiguous(), labels, text, enc


def data(maps, labels, idx, layout=NTU25):
    idx = torch.as_tensor(idx)
    return MethodData(sample_ids=idx.numpy(), labels=labels[idx], maps=maps[idx], layout=layout)


def small(**kw):
    return dataclasses.replace(Config(), num_visual_prompts=8, prompt_dim=16, epochs=2, **kw)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


# -- body-part decomposition -------------------------------------------------------------
@pytest.mark.parametrize("layout", [NTU25, KINECT_V1_20])
def test_part_groups_follow_layout_topology(layout):
    groups = part_groups(layout, layout.num_joints)
    assert groups == [list(layout.parts[p]) for p in BODY_PARTS]


def test_part_groups_fallback_covers_every_joint():
    groups = part_groups(NTU25, 13)  # map with another joint count than the layout
    assert sorted(j for g in groups for j in g) == list(range(13)) and len(groups) == 6


@pytest.mark.parametrize("visual_prompts", [True, False])
def test_part_features_only_see_their_own_joints(visual_prompts):
    torch.manual_seed(0)
    net = STARNet(small(visual_prompts=visual_prompts), 12, 16, part_groups(NTU25, 25), 4).eval()
    maps = torch.rand(3, 4, 25, 12)
    moved = maps.clone()
    foot = list(NTU25.parts["foot"])
    moved[:, :, foot] += 1.0
    with torch.no_grad():
        a, b = net.part_features(maps), net.part_features(moved)
    foot_idx = BODY_PARTS.index("foot")
    others = [i for i in range(6) if i != foot_idx]
    assert torch.allclose(a[:, others], b[:, others])
    assert not torch.allclose(a[:, foot_idx], b[:, foot_idx])


# -- visual-attribute prompts ------------------------------------------------------------
def test_visual_prompts_drive_the_part_features():
    torch.manual_seed(0)
    net = STARNet(small(), 12, 16, part_groups(NTU25, 25), 4).eval()
    maps = torch.rand(2, 4, 25, 12)
    with torch.no_grad():
        before = net.part_features(maps)
        net.parts[0].prompts.add_(torch.randn_like(net.parts[0].prompts))
        after = net.part_features(maps)
    assert not torch.allclose(before[:, 0], after[:, 0])
    assert torch.allclose(before[:, 1:], after[:, 1:])


def test_visual_prompts_switch_removes_prompts_and_attention():
    net = STARNet(small(visual_prompts=False), 12, 16, part_groups(NTU25, 25), 4)
    names = [n for n, _ in net.named_parameters()]
    assert not any("prompts" in n and n.startswith("parts.") for n in names)
    assert not any(isinstance(m, torch.nn.MultiheadAttention) for m in net.modules())
    on = STARNet(small(), 12, 16, part_groups(NTU25, 25), 4)
    assert sum(isinstance(m, torch.nn.MultiheadAttention) for m in on.modules()) == 6


# -- semantic-part prompts and the losses ------------------------------------------------
def _losses(cfg, seed=0):
    torch.manual_seed(seed)
    net = STARNet(cfg, 12, 16, part_groups(NTU25, 25), 5)
    names, parts = torch.randn(5, 16), torch.randn(6, 5, 16)
    rows = torch.arange(5)
    y = torch.tensor([0, 1, 2, 3, 4, 0])
    terms = star_losses(net, torch.rand(6, 4, 25, 12), y, names, parts, rows, names, parts, rows, cfg)
    sum(terms.values()).backward()
    return net, terms


def test_semantic_prompts_are_trained_and_separate_classes():
    net, terms = _losses(small())
    assert set(terms) == {"global", "part", "separation"}
    assert net.semantic_prompts.grad is not None and net.semantic_prompts.grad.abs().sum() > 0
    # the prompts really shift the part text
    pt = torch.randn(6, 5, 16)
    with torch.no_grad():
        before = net.part_text_embedding(pt, torch.arange(5))
        net.semantic_prompts.add_(1.0)
        after = net.part_text_embedding(pt, torch.arange(5))
    assert not torch.allclose(before, after)


def test_semantic_prompts_switch_removes_prompts_and_separation():
    net, terms = _losses(small(semantic_prompts=False))
    assert net.semantic_prompts is None and "separation" not in terms


def test_part_alignment_switch():
    net, terms = _losses(small(semantic_prompts=False))
    assert "part" in terms and terms["part"] > 0
    assert net.part_text_maps[0][0].weight.grad.abs().sum() > 0
    net, terms = _losses(small(semantic_prompts=False, part_alignment=False))
    assert set(terms) == {"global"}
    assert all(p.grad is None for p in net.part_text_maps.parameters())


def test_loss_weights_scale_their_terms():
    cfg = small()
    _, base = _losses(cfg)
    _, doubled = _losses(small(global_weight=2 * cfg.global_weight, part_weight=2 * cfg.part_weight,
                               separation_weight=2 * cfg.separation_weight))
    for k in base:
        assert torch.isclose(doubled[k], 2 * base[k], rtol=1e-4)


# -- text leak guard ---------------------------------------------------------------------
def test_default_training_never_sees_unseen_text():
    maps, labels, text, enc = toy_world()
    seen, unseen = [0, 1, 2, 3, 4, 5], [6, 7]
    m = STAR(small(), seed=0)
    assert not m.leaks_unseen_text
    m.fit(data(maps, labels, torch.isin(labels, torch.tensor(seen)).nonzero().squeeze(1)), text.subset(seen))
    unseen_sentences = {s for src in SOURCES for c in unseen for s in text.sentences[src][c]}
    assert enc.encoded and not (set(enc.encoded) & unseen_sentences)
    assert m.net.semantic_prompts.shape[1] == len(seen)


def test_upstream_text_leak_option_uses_all_text_and_says_so():
    maps, labels, text, enc = toy_world()
    seen = [0, 1, 2, 3, 4, 5]
    train = data(maps, labels, torch.isin(labels, torch.tensor(seen)).nonzero().squeeze(1))
    cfg = apply_overrides(small(), {"star.upstream_text_leak": "true"}, "star")
    m = STAR(cfg, seed=0)
    assert m.leaks_unseen_text
    with pytest.raises(ValueError, match="all_text"):
        m.fit(train, text.subset(seen))
    stats = m.fit(train, text.subset(seen), text)
    assert stats["trained_with_text_of_classes"] == 8 and m.net.semantic_prompts.shape[1] == 8
    assert "part_arm / class 7" in enc.encoded


def test_ablation_switches_are_settable_from_the_command_line():
    cfg = apply_overrides(Config(), {"star.visual_prompts": "false", "semantic_prompts": "false",
                                     "star.part_alignment": "false"}, "star")
    assert (cfg.visual_prompts, cfg.semantic_prompts, cfg.part_alignment) == (False, False, False)


# -- end to end ----------------------------------------------------------------------------
def test_any_joint_count_text_dim_and_class_count():
    maps, labels, text, _ = toy_world(n_classes=5, text_dim=10, feat_dim=7, frames=2, layout=KINECT_V1_20, per_class=4)
    m = STAR(dataclasses.replace(small(), prompt_dim=0, epochs=1), seed=1)  # prompt dim = text dim 10 -> 12
    m.fit(data(maps, labels, torch.arange(12), KINECT_V1_20), text.subset([0, 1, 2]))
    pred = m.predict(data(maps, labels, torch.arange(20), KINECT_V1_20), text)
    assert pred.scores.shape == (20, 5) and np.isfinite(pred.scores).all()
    assert np.abs(pred.scores).max() <= 1.0 + 1e-5  # cosine scores: γ calibration is meaningful


def test_star_learns_and_transfers_to_unseen_classes():
    maps, labels, text, _ = toy_world(n_classes=8, per_class=24)
    seen, unseen = [0, 1, 2, 3, 4, 5], [6, 7]
    tr = torch.isin(labels, torch.tensor(seen)).nonzero().squeeze(1)
    te = torch.isin(labels, torch.tensor(unseen)).nonzero().squeeze(1)
    m = STAR(dataclasses.replace(small(), epochs=12, batch_size=16, lr=0.05, lr_milestones=(10,)), seed=0)
    stats = m.fit(data(maps, labels, tr), text.subset(seen))
    assert np.isfinite(stats["final_loss"])
    seen_acc = (m.predict(data(maps, labels, tr), text.subset(seen)).scores.argmax(1)
                == text.subset(seen).column_of(labels[tr]).numpy()).mean()
    zsl_acc = (m.predict(data(maps, labels, te), text.subset(unseen)).scores.argmax(1)
               == text.subset(unseen).column_of(labels[te]).numpy()).mean()
    assert seen_acc > 0.5, seen_acc   # chance 1/6
    assert zsl_acc > 0.7, zsl_acc     # chance 1/2


def test_global_text_source_is_the_one_trained_and_predicted_with():
    """`global_text` picks the class-level text of the global alignment and of inference."""
    maps, labels, text, enc = toy_world()
    seen = [0, 1, 2, 3, 4, 5]
    train = data(maps, labels, torch.isin(labels, torch.tensor(seen)).nonzero().squeeze(1))
    m = STAR(small(global_text="descriptions"), seed=0)
    assert "descriptions" in m.requires.text_sources and "names" in m.requires.text_sources
    m.fit(train, text.subset(seen))
    assert "descriptions / class 0" in enc.encoded and "names / class 0" not in enc.encoded
    enc.encoded.clear()
    m.predict(data(maps, labels, torch.arange(8)), text)
    assert "descriptions / class 7" in enc.encoded and not any(s.startswith("names") for s in enc.encoded)
    assert STAR.default_config("ntu60").global_text == "names"  # the paper's class names on NTU/PKU
