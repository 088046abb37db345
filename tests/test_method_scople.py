"""SCoPLe (reconstructed): one test per module (each fails if the module is removed), the
ablation switches, the "reconstructed" labelling and no unseen-class text in training."""
from __future__ import annotations


import numpy as np
import pytest
import torch

from methods.base import ClassText, MethodData
from methods.scople import Config, SCoPLe
from methods.scople.model import DualStreamText, JointShapedPrompts, SCoPLeNet, TextGuidedSampler
from zssar.data.layouts import NTU25
from toydata import RecordingEncoder


pytestmark = pytest.mark.usefixtures("one_torch_thread")


NAMES = [f"action number {i}" for i in range(6)]


def make_text(encoder=None) -> ClassText:
    sents = {"names": [[n] for n in NAMES], "templates": [[f"a person doing {n}.", f"{n}."] for n in NAMES]}
    return ClassText(list(range(6)), NAMES, sents, encoder or RecordingEncoder(dim=20), {}, "toy")


def make_data(classes, per_class=10, joints=25, frames=4, channels=12, seed=0) -> MethodData:
    g = torch.Generator().manual_seed(seed)
    protos = torch.randn(6, joints, channels, generator=torch.Generator().manual_seed(7))
    y = torch.tensor(classes).repeat(per_class)
    maps = protos[y][:, None] + 0.3 * torch.randn(len(y), frames, joints, channels, generator=g)
    return MethodData(np.arange(len(y)), y, maps=maps, layout=NTU25)


def fast(**kw) -> Config:
    return Config(**{**dict(epochs=4, width=32, hidden=32, batch_size=32), **kw})


def test_labelled_as_reconstructed():
    assert SCoPLe.version.startswith("reconstructed-") and SCoPLe.tags == ("reconstructed",)
    assert "reconstructed" in SCoPLe.paper
    assert SCoPLe.name == "scople" and SCoPLe.requires.maps


def test_dual_stream_keeps_the_frozen_stream_and_tunes_the_prompted_one():
    text = make_text()
    m = SCoPLe(fast(epochs=6))
    emb = text.embed("templates")
    expected_frozen = DualStreamText.frozen(emb)
    m.fit(make_data([0, 1, 2, 3]), text.subset([0, 1, 2, 3]))
    combined, frozen, prompted = m.class_embeddings(text)
    assert torch.allclose(frozen, expected_frozen, atol=1e-6)           # frozen stream untouched
    assert not torch.allclose(prompted, frozen, atol=1e-3)              # prompted stream was tuned...
    assert (prompted * frozen).sum(-1).min() > 0.5                       # ...but kept near the original
    mix = torch.nn.functional.normalize(0.5 * frozen + 0.5 * prompted, dim=-1)
    assert torch.allclose(combined, mix, atol=1e-5)
    assert not any(p.requires_grad is False for p in m.net.text.parameters())  # only prompted-stream params


def test_prompted_stream_starts_equal_to_frozen_and_switch_removes_frozen_stream():
    emb = torch.randn(5, 2, 16)
    dual = DualStreamText(16, 4, 32, dual=True, mix=0.5)
    combined, consistency = dual(emb)
    assert torch.allclose(combined, DualStreamText.frozen(emb), atol=1e-6) and float(consistency.detach()) < 1e-6
    with torch.no_grad():  # perturb the prompted stream: the single-stream variant follows it fully
        dual.prompted.adapter[-1].bias.add_(torch.randn(16))
    single = DualStreamText(16, 4, 32, dual=False, mix=0.5)
    single.load_state_dict(dual.state_dict())
    c_dual, cons_dual = dual(emb)
    c_single, cons_single = single(emb)
    prompted = torch.nn.functional.normalize(dual.prompted(DualStreamText.frozen(emb)), dim=-1)
    assert torch.allclose(c_single, prompted, atol=1e-6) and float(cons_single.detach()) == 0.0
    assert float(cons_dual.detach()) > 0 and not torch.allclose(c_dual, c_single)


def test_joint_shaped_prompts_tune_each_joint():
    jp = JointShapedPrompts(joints=25, channels=12, hidden=16)
    joints = torch.randn(3, 25, 12)
    before = jp(joints)
    with torch.no_grad():
        jp.prompts[4] += 1.0
    after = jp(joints)
    changed = (before - after).abs().sum((0, 2)) > 1e-6
    assert changed.tolist() == [j == 4 for j in range(25)]  # a prompt tunes its own joint only
    m = SCoPLe(fast(epochs=2))
    m.fit(make_data([0, 1, 2]), make_text().subset([0, 1, 2]))
    assert m.net.joint_prompts.prompts.shape == (25, 12)
    off = SCoPLe(fast(epochs=1, joint_prompts=False))
    off.fit(make_data([0, 1, 2]), make_text().subset([0, 1, 2]))
    assert off.net.joint_prompts is None


def test_sampler_weights_depend_on_text():
    torch.manual_seed(0)
    sampler = TextGuidedSampler(text_dim=20, width=8, temperature=1.0)
    tokens = torch.randn(2, 29, 8)
    text = torch.nn.functional.normalize(torch.randn(3, 20), dim=-1)
    w = sampler.weights(tokens, text)
    assert w.shape == (2, 3, 29) and torch.allclose(w.sum(-1), torch.ones(2, 3))
    assert (w[:, 0] - w[:, 1]).abs().max() > 1e-3  # different classes sample differently
    feats = sampler(tokens, text)
    assert not torch.allclose(feats[:, 0], feats[:, 1])
    kw = dict(channels=12, joints=25, text_dim=20, width=8, n_text_prompts=2, hidden=16, dual_stream=True,
              joint_prompts=True, mix=0.5, sampler_temperature=1.0, dropout=0.0)
    torch.manual_seed(0)
    off = SCoPLeNet(sampler=False, **kw).eval()
    maps = torch.randn(2, 4, 25, 12)
    # without the sampler the skeleton feature is class-independent: scores are plain dot products
    feat = torch.nn.functional.normalize(off.project(off.tokens(maps).mean(1)), dim=-1)
    assert torch.allclose(off.scores(maps, text), feat @ text.t(), atol=1e-6)


def test_fit_predict_and_no_unseen_text_in_training():
    enc = RecordingEncoder(dim=20)
    full = make_text(enc)
    m = SCoPLe(fast(epochs=8))
    assert m.leaks_unseen_text is False
    stats = m.fit(make_data([0, 1, 2, 3]), full.subset([0, 1, 2, 3]))
    assert stats["epochs"][-1]["train_top1"] > stats["epochs"][0]["train_top1"]
    assert enc.seen and not [s for s in enc.seen if "4" in s or "5" in s]
    test = make_data([4, 5, 1], per_class=3)
    zsl = m.predict(test, full.subset([4, 5]))
    gzsl = m.predict(test, full)
    assert zsl.scores.shape == (9, 2) and gzsl.scores.shape == (9, 6)
    assert np.abs(gzsl.scores).max() <= 1.0 + 1e-5


@pytest.mark.parametrize("switch", ["dual_stream", "joint_prompts", "sampler"])
def test_each_switch_changes_the_model(switch):
    data, text = make_data([0, 1, 2]), make_text().subset([0, 1, 2])
    on, off = SCoPLe(fast(epochs=1)), SCoPLe(fast(epochs=1, **{switch: False}))
    on.fit(data, text)
    off.fit(data, text)
    test = make_data([3, 4], per_class=2)
    assert not np.allclose(on.predict(test, make_text()).scores, off.predict(test, make_text()).scores)
    assert {"dual_stream": off.net.text.dual is False, "joint_prompts": off.net.joint_prompts is None,
            "sampler": off.net.sampler is None}[switch]
