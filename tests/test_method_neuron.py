"""Neuron plugin: spatial compression, temporal memory, phase/granularity alignment, the
fused prediction and the upstream oracle metric, ablation switches, no unseen text."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from methods.base import ClassText, MethodData, Prediction, apply_overrides
from methods.neuron import TEXT_SOURCES, Config, Neuron
from methods.neuron.model import (NeuronNet, TemporalMemory, compression_mask, neuron_loss, phase_logits,
                                  temporal_windows)
from zssar.data.layouts import KINECT_V1_20, NTU25
from toydata import SpyEncoder


def toy_world(n_classes=8, text_dim=16, feat_dim=12, frames=6, v=25, per_class=16, k=2, seed=0):
    """Latent class codes seen through noisy linear text views and skeleton maps."""
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n_classes, 5, generator=g)
    table, sentences = {}, {}
    for s in TEXT_SOURCES:
        proj = torch.randn(5, text_dim, generator=g)
        sentences[s] = [[f"{s} / class {c} / {i}" for i in range(k)] for c in range(n_classes)]
        for c in range(n_classes):
            for t in sentences[s][c]:
                table[t] = z[c] @ proj + 0.05 * torch.randn(text_dim, generator=g)
    enc = SpyEncoder(table)
    jproj = torch.randn(v, 5, feat_dim, generator=g) / 5 ** 0.5
    tproj = torch.randn(frames, 5, feat_dim, generator=g) / 5 ** 0.5
    labels = torch.arange(n_classes).repeat_interleave(per_class)
    zz = z[labels] + 0.2 * torch.randn(len(labels), 5, generator=g)
    maps = torch.relu(torch.einsum("nl,vlc->nvc", zz, jproj)[:, None] + torch.einsum("nl,tlc->ntc", zz, tproj)[:, :, None]
                      + 0.1 * torch.randn(len(labels), frames, v, feat_dim, generator=g))
    text = ClassText(list(range(n_classes)), [f"class {c}" for c in range(n_classes)], sentences, enc)
    return maps, labels, text, enc


def data(maps, labels, idx, layout=NTU25):
    idx = torch.as_tensor(idx)
    return MethodData(sample_ids=idx.numpy(), labels=labels[idx], maps=maps[idx], layout=layout)


def small(**kw):
    return dataclasses.replace(Config(), **{"num_spatial_attributes": 8, "num_temporal_attributes": 8,
                                            "epochs": 2, **kw})


def random_texts(n_classes=4, k=3, d=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    return {s: torch.randn(n_classes, k, d, generator=g) for s in TEXT_SOURCES}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


# -- spatial compression -------------------------------------------------------------------
def test_compression_mask_keeps_the_top_attributes_of_every_joint():
    sim = torch.tensor([[[0.1, 0.9, 0.5, 0.3], [4.0, 3.0, 2.0, 1.0]]])
    assert compression_mask(sim, 0.5).tolist() == [[[0, 1, 1, 0], [1, 1, 0, 0]]]
    assert compression_mask(sim, 0.75).sum(-1).tolist() == [[1, 1]]
    assert compression_mask(sim, 0.0).eq(1).all()


def test_spatial_compression_changes_the_spatial_features_and_switch_disables_it():
    torch.manual_seed(0)
    on = NeuronNet(small(), 12, 16)
    off = NeuronNet(small(spatial_compression=False), 12, 16)
    nothing_dropped = NeuronNet(small(spatial_drop_schedule=(0.0, 0.0, 0.0)), 12, 16)
    off.load_state_dict(on.state_dict())
    nothing_dropped.load_state_dict(on.state_dict())
    maps = torch.rand(3, 6, 25, 12)
    with torch.no_grad():
        a, b, c = on.spatial_phases(maps), off.spatial_phases(maps), nothing_dropped.spatial_phases(maps)
    assert all(torch.allclose(x, y) for x, y in zip(b, c))  # the mask is the only difference
    assert not torch.allclose(a[0], b[0])


def test_compressed_attributes_ignore_a_joint_they_were_dropped_for():
    """With 75% dropped, an attribute aggregates only joints for which it ranks in the top 25%."""
    torch.manual_seed(0)
    net = NeuronNet(small(spatial_drop_schedule=(0.75, 0.75, 0.75)), 12, 16)
    joints = torch.rand(1, 25, 12)
    proto = net.spatial_prototypes.unsqueeze(0)
    sim = torch.einsum("nvc,nac->nva", joints, proto) * net.scale
    weights = sim.softmax(1) * compression_mask(sim, 0.75)
    assert (weights > 0).sum(-1).eq(2).all()  # 8 attributes, 2 kept per joint


# -- temporal memory -------------------------------------------------------------------
def test_temporal_memory_follows_eq5_and_remembers_the_previous_prototype():
    torch.manual_seed(0)
    step = TemporalMemory(12, memory=True)
    prev, upd = torch.randn(2, 8, 12), torch.randn(2, 8, 12)
    expected = torch.sigmoid(step.recall(upd)) * prev + torch.sigmoid(step.remember(upd)) * step.refine(upd)
    assert torch.allclose(step(prev, upd), expected)
    assert not torch.allclose(step(prev, upd), step(prev + 1.0, upd))


def test_temporal_memory_switch_forgets_the_previous_prototype():
    step = TemporalMemory(12, memory=False)
    prev, upd = torch.randn(2, 8, 12), torch.randn(2, 8, 12)
    assert torch.allclose(step(prev, upd), step(prev + 1.0, upd))
    assert not hasattr(step, "recall") and not hasattr(step, "remember")


def test_temporal_windows():
    assert temporal_windows(9, "prefix") == [slice(0, 3), slice(0, 6), slice(0, 9)]
    assert temporal_windows(9, "segments") == [slice(0, 3), slice(3, 6), slice(6, 9)]
    assert temporal_windows(9, "prefix", evolving=False) == [slice(0, 9)] * 3
    for mode in ("prefix", "segments"):  # fewer frames than phases still gives non-empty windows
        assert all(s.stop > s.start for s in temporal_windows(2, mode))
    with pytest.raises(ValueError, match="temporal_windows"):
        temporal_windows(9, "bogus")


def test_first_temporal_phase_only_sees_the_first_window():
    torch.manual_seed(0)
    net = NeuronNet(small(), 12, 16).eval()
    maps = torch.rand(2, 9, 25, 12)
    late = maps.clone()
    late[:, 6:] += 1.0
    with torch.no_grad():
        a, b = net.temporal_phases(maps), net.temporal_phases(late)
    assert torch.allclose(a[0], b[0]) and torch.allclose(a[1], b[1])
    assert not torch.allclose(a[2], b[2])
    evolving_off = NeuronNet(small(phase_evolving=False), 12, 16).eval()
    evolving_off.load_state_dict(net.state_dict())
    with torch.no_grad():
        assert not torch.allclose(evolving_off.temporal_phases(maps)[0], evolving_off.temporal_phases(late)[0])


# -- phase-wise alignment and the loss ------------------------------------------------------
def test_each_phase_is_aligned_with_its_own_text():
    torch.manual_seed(0)
    net = NeuronNet(small(), 12, 16).eval()
    maps, texts = torch.rand(3, 6, 25, 12), random_texts()
    changed = dict(texts, spatial_medium=torch.randn(4, 3, 16), temporal_1=torch.randn(4, 3, 16))
    with torch.no_grad():
        (sa, ta), (sb, tb) = phase_logits(net, maps, texts), phase_logits(net, maps, changed)
    assert torch.allclose(sa[0], sb[0]) and torch.allclose(sa[2], sb[2]) and not torch.allclose(sa[1], sb[1])
    assert not torch.allclose(ta[0], tb[0]) and torch.allclose(ta[1], tb[1])


def test_granularity_update_switch_uses_the_fine_text_for_every_phase():
    torch.manual_seed(0)
    net = NeuronNet(small(granularity_update=False), 12, 16).eval()
    maps, texts = torch.rand(3, 6, 25, 12), random_texts()
    changed = dict(texts, spatial_coarse=torch.randn(4, 3, 16), spatial_medium=torch.randn(4, 3, 16))
    with torch.no_grad():
        sa, _ = phase_logits(net, maps, texts)
        sb, _ = phase_logits(net, maps, changed)
    assert all(torch.allclose(x, y) for x, y in zip(sa, sb))


def test_loss_sums_every_phase_of_both_streams():
    torch.manual_seed(0)
    cfg = small()
    net = NeuronNet(cfg, 12, 16)
    maps, texts, y = torch.rand(5, 6, 25, 12), random_texts(), torch.tensor([0, 1, 2, 3, 0])
    terms = neuron_loss(net, maps, y, texts, cfg)
    sp, tp = phase_logits(net, maps, texts)
    expect = sum(F.cross_entropy(l * cfg.logit_scale, y) for l in sp + tp) / 6
    assert torch.isclose(terms["spatial"] + terms["temporal"], expect)
    sum(terms.values()).backward()
    for e in range(3):  # every phase's modules receive gradient
        assert net.spatial_refine[e][0].weight.grad.abs().sum() > 0
        assert net.temporal_steps[e].recall[0].weight.grad.abs().sum() > 0


# -- prediction and the oracle metric ----------------------------------------------------
def test_prediction_fuses_the_two_heads():
    maps, labels, text, _ = toy_world(n_classes=4, per_class=3)
    m = Neuron(small(spatial_fusion_weight=0.3, epochs=1), seed=0)
    m.fit(data(maps, labels, torch.arange(12)), text)
    p = m.predict(data(maps, labels, torch.arange(12)), text)
    assert set(p.heads) == {"spatial", "temporal"}
    assert np.allclose(p.scores, 0.3 * p.heads["spatial"] + 0.7 * p.heads["temporal"])
    assert np.abs(p.scores).max() <= 1.0 + 1e-5  # cosine scale: γ calibration is meaningful


def test_oracle_either_head_metric():
    s = np.array([[1, 0, 0], [0, 1, 0], [1, 0, 0], [0, 0, 1]], dtype=np.float32)
    t = np.array([[0, 1, 0], [1, 0, 0], [0, 0, 1], [0, 0, 1]], dtype=np.float32)
    pred = Prediction((s + t) / 2, heads={"spatial": s, "temporal": t})
    out = Neuron(small()).extra_metrics(pred, np.array([1, 1, 2, 0]), None)
    # spatial right on sample 1, temporal right on samples 0 and 2, neither on sample 3
    assert out == {"oracle_either_head_zsl_top1": 75.0}


# -- text leak guard, switches, end to end ---------------------------------------------------
def test_training_never_sees_unseen_text():
    maps, labels, text, enc = toy_world()
    seen, unseen = [0, 1, 2, 3, 4, 5], [6, 7]
    m = Neuron(small(epochs=1), seed=0)
    assert not m.leaks_unseen_text
    m.fit(data(maps, labels, torch.isin(labels, torch.tensor(seen)).nonzero().squeeze(1)), text.subset(seen))
    unseen_sentences = {s for src in TEXT_SOURCES for c in unseen for s in text.sentences[src][c]}
    assert enc.encoded and not (set(enc.encoded) & unseen_sentences)


def test_ablation_switches_are_settable_from_the_command_line():
    cfg = apply_overrides(Config(), {"neuron.spatial_compression": "false", "neuron.temporal_memory": "false",
                                     "granularity_update": "false", "neuron.phase_evolving": "false",
                                     "neuron.spatial_drop_schedule": "[0.1, 0.2, 0.3]"}, "neuron")
    assert not (cfg.spatial_compression or cfg.temporal_memory or cfg.granularity_update or cfg.phase_evolving)
    assert cfg.spatial_drop_schedule == (0.1, 0.2, 0.3)
    net = NeuronNet(cfg, 12, 16)
    assert not any(hasattr(s, "recall") for s in net.temporal_steps)


def test_paper_defaults_for_ntu_and_pku():
    for ds in ("ntu60", "ntu120", "pku_mmd1"):
        cfg = Neuron.default_config(ds)
        assert (cfg.num_spatial_attributes, cfg.num_temporal_attributes, cfg.lr, cfg.epochs) == (80, 80, 0.1, 30)
        assert cfg.logit_scale == 0.1 and cfg.spatial_drop_schedule == (0.25, 0.5, 0.75)


def test_any_joint_count_frame_count_and_text_dim():
    maps, labels, text, _ = toy_world(n_classes=5, text_dim=10, feat_dim=7, frames=2, v=20, per_class=4)
    m = Neuron(small(epochs=1), seed=0)
    m.fit(data(maps, labels, torch.arange(12), KINECT_V1_20), text.subset([0, 1, 2]))
    p = m.predict(data(maps, labels, torch.arange(20), KINECT_V1_20), text)
    assert p.scores.shape == (20, 5) and np.isfinite(p.scores).all()


def test_neuron_learns_and_transfers_to_unseen_classes():
    maps, labels, text, _ = toy_world(n_classes=8, per_class=24)
    seen, unseen = [0, 1, 2, 3, 4, 5], [6, 7]
    tr = torch.isin(labels, torch.tensor(seen)).nonzero().squeeze(1)
    te = torch.isin(labels, torch.tensor(unseen)).nonzero().squeeze(1)
    # the toy problem's own scale (the suite default, 20, was tuned for the synthetic benchmark
    # and overshoots this 6-class toy at lr 0.1)
    m = Neuron(small(epochs=12, batch_size=16, lr_milestones=(10,), logit_scale=10.0), seed=0)
    stats = m.fit(data(maps, labels, tr), text.subset(seen))
    assert np.isfinite(stats["final_loss"])
    seen_acc = (m.predict(data(maps, labels, tr), text.subset(seen)).scores.argmax(1)
                == text.subset(seen).column_of(labels[tr]).numpy()).mean()
    zsl = m.predict(data(maps, labels, te), text.subset(unseen))
    cols = text.subset(unseen).column_of(labels[te]).numpy()
    assert seen_acc > 0.5, seen_acc                       # chance 1/6
    assert (zsl.scores.argmax(1) == cols).mean() > 0.7    # chance 1/2


# -- temporal phase text -----------------------------------------------------------------
def test_temporal_text_is_cumulative_for_per_phase_sentences_and_as_given_for_upstream_embeddings():
    _, _, text, _ = toy_world(n_classes=3)
    phase = [text.embed(s).mean(1) for s in ("temporal_1", "temporal_2", "temporal_3")]
    cum = Neuron(small(), seed=0)._texts(text)
    assert torch.allclose(cum["temporal_1"][:, 0], phase[0])
    assert torch.allclose(cum["temporal_3"][:, 0], (phase[0] + phase[1] + phase[2]) / 3, atol=1e-6)
    assert torch.equal(cum["spatial_fine"], text.embed("spatial_fine"))  # spatial text untouched
    as_given = Neuron(small(temporal_text="as_given"), seed=0)._texts(text)
    assert torch.equal(as_given["temporal_3"], text.embed("temporal_3"))
    # upstream's precomputed fsp/fstp embeddings are already cumulative: "auto" keeps them
    pre = dataclasses.replace(text, precomputed={s: text.embed(s) for s in TEXT_SOURCES})
    assert torch.equal(Neuron(small(), seed=0)._texts(pre)["temporal_3"], text.embed("temporal_3"))
    with pytest.raises(ValueError, match="temporal_text"):
        Neuron(small(temporal_text="sum"), seed=0)._texts(text)
