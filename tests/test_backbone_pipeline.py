"""Seen-only pre-training, resume, the leakage guard, the feature cache, transforms, CLI."""
from __future__ import annotations

import dataclasses
import logging

import numpy as np
import pytest
import torch

from zssar.backbones import LeakageError, backbone_config, get_features, load_checkpoint
from zssar.backbones.config import BackboneConfig
from zssar.backbones.features import checkpoint_dir
from zssar.backbones.train import RESUME, pretrain, training_positions
from zssar.backbones.transforms import SkeletonTransform, random_rot, valid_crop_resize, valid_frame_count
from zssar.data.dataset import Sample, SkeletonDataset

NUM_CLASSES = 5
# tiny but complete: every code path of the full model at a few ms per step
TINY = BackboneConfig(window=16, epochs=2, batch_size=16, eval_batch_size=64, lr=0.1, lr_steps=(100,),
                      width=8, num_blocks=3, random_rotation=False, num_threads=1)


def structured_dataset(per_class=16, bodies=1, seed=0, name="tiny") -> SkeletonDataset:
    """Class k moves joint group k (hands/feet/head) along a class-specific axis; noisy lengths."""
    rng = np.random.default_rng(seed)
    groups = [(6, 7), (10, 11), (14, 15), (18, 19), (3,)]
    samples = []
    for k in range(NUM_CLASSES):
        for i in range(per_class):
            t = int(rng.integers(20, 34))
            x = rng.normal(0, 0.1, size=(3, t, 25, bodies)).astype(np.float32)
            x[1, :, :, 0] += np.linspace(0, 1, 25)[None, :]  # a standing, jittery body
            phase = np.sin(np.linspace(0, 2 * np.pi * (1 + k % 2), t) + rng.uniform(0, 1))
            for j in groups[k]:
                x[k % 3, :, j, 0] += 0.5 * phase
            samples.append(Sample(f"s{k}_{i}", k, x, {"subject": i % 4}))
    return SkeletonDataset.from_samples(samples, name=name, class_names=[f"c{k}" for k in range(NUM_CLASSES)],
                                        layout="ntu25")


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    """Each test starts from an empty backbone cache (the session-wide one is shared)."""
    monkeypatch.setenv("ZSSAR_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def tiny_ds():
    return structured_dataset()


def train_mask_of(ds):
    return ds.meta["subject"].to_numpy() < 3  # subject 3 is the test partition


# -- transforms ------------------------------------------------------------------------------
def test_eval_transform_is_deterministic_centre_crop_resize():
    x = np.zeros((3, 50, 25, 2), dtype=np.float32)
    x[:, :40] = np.arange(40, dtype=np.float32)[None, :, None, None] + 1  # 40 valid frames, then padding
    assert valid_frame_count(x) == 40
    tf = SkeletonTransform(window=20, num_bodies=2, train=False)
    a, b = tf(x), tf(x)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (3, 20, 25, 2)
    # 95 % centre crop of 40 frames drops int(0.05 * 40 / 2) = 1 frame at each end (values 2..39);
    # 38 -> 20 frames, align_corners=False: output t samples input (t + 0.5) * 1.9 - 0.5
    assert a[0, 0, 0, 0] == pytest.approx(2.45, abs=1e-5) and a[0, -1, 0, 0] == pytest.approx(38.55, abs=1e-5)
    # identity resize when the crop already has `window` frames
    np.testing.assert_allclose(valid_crop_resize(x, 40, (1.0,), 40), x[:, :40])


def test_train_transform_is_random_but_seeded():
    x = np.random.default_rng(0).normal(size=(3, 60, 25, 1)).astype(np.float32)
    tf = SkeletonTransform(window=16, num_bodies=2, train=True)
    a = tf(x, np.random.default_rng([0, 1, 2]))
    b = tf(x, np.random.default_rng([0, 1, 2]))
    c = tf(x, np.random.default_rng([0, 1, 3]))
    np.testing.assert_array_equal(a, b)
    assert a.shape == (3, 16, 25, 2) and np.all(a[..., 1] == 0)  # padded second body
    assert not np.allclose(a, c)


def test_random_rotation_preserves_lengths():
    x = np.random.default_rng(1).normal(size=(3, 10, 25, 2)).astype(np.float32)
    y = random_rot(x, np.random.default_rng(0))
    np.testing.assert_allclose(np.linalg.norm(x, axis=0), np.linalg.norm(y, axis=0), rtol=1e-5)
    assert not np.allclose(x, y)


# -- pre-training ------------------------------------------------------------------------------
def test_pretraining_uses_only_seen_training_samples_and_learns(tmp_path, caplog):
    ds = structured_dataset(per_class=30)
    seen = [0, 1, 2, 3]
    mask = train_mask_of(ds)
    cfg = dataclasses.replace(TINY, epochs=10, lr_steps=(8,), val_fraction=0.3)
    with caplog.at_level(logging.INFO, logger="zssar.backbones"):
        path = pretrain(ds, mask, seen, cfg, tmp_path / "run")
    meta, _ = load_checkpoint(path)
    train_pos, val_pos = training_positions(ds, mask, seen, cfg.val_fraction, cfg.seed)
    used = np.concatenate([train_pos, val_pos])
    assert set(ds.labels[used]) == set(seen) and mask[used].all()
    assert meta["num_train"] + meta["num_val"] == int((mask & np.isin(ds.labels, seen)).sum())
    assert meta["trained_on_seen"] == seen and meta["num_val"] == len(val_pos) > 20
    assert "seen-val acc" in caplog.text
    # held-out seen-class samples, deterministic evaluation transform: chance is 25 %
    assert meta["val_acc"] >= 60, meta["history"]


def test_bf16_pretraining_on_cpu_learns(tmp_path, caplog):
    """backbone.cpu_amp=bf16: the same tiny pre-training as above under CPU bf16 autocast."""
    ds = structured_dataset(per_class=30)
    cfg = dataclasses.replace(TINY, epochs=10, lr_steps=(8,), val_fraction=0.3, cpu_amp="bf16")
    with caplog.at_level(logging.INFO, logger="zssar.backbones"):
        path = pretrain(ds, train_mask_of(ds), [0, 1, 2, 3], cfg, tmp_path / "run")
    meta, state = load_checkpoint(path)
    assert "bf16 mixed precision" in caplog.text
    assert meta["config"]["cpu_amp"] == "bf16"
    assert all(v.dtype in (torch.float32, torch.int64) for v in state.values())  # float32 weights
    assert meta["val_acc"] >= 60, meta["history"]  # chance is 25 %


def test_resume_after_interruption_gives_the_uninterrupted_result(tmp_path, tiny_ds):
    seen, mask = [0, 1, 2], train_mask_of(tiny_ds)
    cfg = dataclasses.replace(TINY, epochs=3)
    straight = pretrain(tiny_ds, mask, seen, cfg, tmp_path / "a")

    class Interrupted(Exception):
        pass

    def stop_after_first(epoch, record):
        if epoch == 1:
            raise Interrupted

    with pytest.raises(Interrupted):
        pretrain(tiny_ds, mask, seen, cfg, tmp_path / "b", on_epoch_end=stop_after_first)
    assert (tmp_path / "b" / RESUME).is_file() and not (tmp_path / "b" / "backbone.pt").exists()
    epochs_run = []
    resumed = pretrain(tiny_ds, mask, seen, cfg, tmp_path / "b", on_epoch_end=lambda e, r: epochs_run.append(e))
    assert epochs_run == [2, 3]
    assert not (tmp_path / "b" / RESUME).exists()
    (_, a), (meta_b, b) = load_checkpoint(straight), load_checkpoint(resumed)
    assert meta_b["epochs_done"] == 3
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-5, atol=1e-6, msg=k)


# -- leakage guard -------------------------------------------------------------------------------
def test_leakage_guard_refuses_a_backbone_that_saw_unseen_classes(tmp_path, tiny_ds):
    mask = train_mask_of(tiny_ds)
    ckpt = pretrain(tiny_ds, mask, [0, 1, 2, 3], TINY, tmp_path / "run",
                    extra_meta={"data_sha256": None})
    # this split hides class 3, which the checkpoint was trained on
    with pytest.raises(LeakageError, match=r"trained on classes \[3\]"):
        get_features(tiny_ds, mask, [0, 1, 2], cfg=dataclasses.replace(TINY, checkpoint=str(ckpt)))
    # a split whose unseen classes (here 4) it never saw is fine
    ok = get_features(tiny_ds, mask, [0, 1, 2, 3], cfg=dataclasses.replace(TINY, checkpoint=str(ckpt)))
    assert ok.info["trained_on_seen"] == [0, 1, 2, 3]


def test_leakage_guard_refuses_other_data_or_partition(tmp_path, tiny_ds):
    mask = train_mask_of(tiny_ds)
    cfg = dataclasses.replace(TINY, epochs=1)
    get_features(tiny_ds, mask, [0, 1, 2], cfg=cfg)
    ckpt = checkpoint_dir(tiny_ds, mask, [0, 1, 2], cfg) / "backbone.pt"
    other_data = structured_dataset(seed=1)
    with pytest.raises(LeakageError, match="trained on data"):
        get_features(other_data, mask, [0, 1, 2], cfg=dataclasses.replace(cfg, checkpoint=str(ckpt)))
    other_protocol = tiny_ds.meta["subject"].to_numpy() >= 1
    with pytest.raises(LeakageError, match="training partition"):
        get_features(tiny_ds, other_protocol, [0, 1, 2], cfg=dataclasses.replace(cfg, checkpoint=str(ckpt)))


# -- feature cache --------------------------------------------------------------------------------
def test_feature_cache_hit_miss_and_invalidation(tmp_path, tiny_ds, monkeypatch):
    mask, seen = train_mask_of(tiny_ds), [0, 1, 2, 3]
    cfg = dataclasses.replace(TINY, epochs=1)
    first = get_features(tiny_ds, mask, seen, cfg=cfg, need_maps=True)
    assert not first.info["cache_hit"]
    assert first.maps.shape == (len(tiny_ds), 4, 25, 32) and first.maps.dtype == np.float16
    pooled = np.array(first.pooled)

    # a second method on the same split: no training, no extraction
    import zssar.backbones.features as features_mod
    import zssar.backbones.train as train_mod
    with monkeypatch.context() as m:
        m.setattr(features_mod, "extract", lambda *a, **k: pytest.fail("re-extracted"))
        m.setattr(train_mod, "_pretrain", lambda *a, **k: pytest.fail("re-trained"))
        second = get_features(tiny_ds, mask, seen, cfg=cfg, need_maps=True)
    assert second.info["cache_hit"] and second.info["checkpoint_sha256"] == first.info["checkpoint_sha256"]
    np.testing.assert_array_equal(second.pooled, pooled)

    # data change -> new checkpoint and new features
    changed = structured_dataset()
    changed._fetch(0)[:] += 0.5  # in-memory sample 0 edited in place
    third = get_features(changed, mask, seen, cfg=cfg)
    assert not third.info["cache_hit"] and third.info["data_sha256"] != first.info["data_sha256"]
    assert third.info["checkpoint_sha256"] != first.info["checkpoint_sha256"]

    # checkpoint change (same path, new weights) -> features re-extracted
    path = tmp_path / "mine.pt"
    pretrain(tiny_ds, mask, seen, cfg, tmp_path / "a")
    (tmp_path / "a" / "backbone.pt").replace(path)
    explicit = dataclasses.replace(cfg, checkpoint=str(path))
    a = get_features(tiny_ds, mask, seen, cfg=explicit)
    assert get_features(tiny_ds, mask, seen, cfg=explicit).info["cache_hit"]
    pretrain(tiny_ds, mask, seen, dataclasses.replace(cfg, seed=1), tmp_path / "b")
    (tmp_path / "b" / "backbone.pt").replace(path)
    b = get_features(tiny_ds, mask, seen, cfg=explicit)
    assert not b.info["cache_hit"] and b.info["checkpoint_sha256"] != a.info["checkpoint_sha256"]
    assert not np.allclose(a.pooled, b.pooled)


def test_prepared_dataset_and_stgcn_with_20_joints(tmp_path):
    from zssar.data.dataset import write_prepared
    rng = np.random.default_rng(0)
    samples = [Sample(f"s{i}", i % 3, rng.normal(size=(3, 24, 20, 1)).astype(np.float32), {"subject": i % 2})
               for i in range(24)]
    write_prepared(samples, tmp_path / "p", name="twenty", class_names=["a", "b", "c"], layout="kinect_v1_20",
                   meta_fields=["subject"])
    ds = SkeletonDataset.load(tmp_path / "p")
    cfg = dataclasses.replace(TINY, arch="stgcn", epochs=1)
    f = get_features(ds, ds.meta["subject"].to_numpy() == 0, [0, 1], cfg=cfg, need_maps=True)
    assert f.pooled.shape == (24, 32) and f.maps.shape == (24, 4, 20, 32)
    assert f.info["arch"] == "stgcn" and f.info["data_sha256"]


def test_backbone_config_defaults_and_overrides():
    syn = backbone_config("synthetic")
    ntu = backbone_config("ntu60")
    assert syn.width < ntu.width == 64 and ntu.num_blocks == 10 and ntu.lr == 0.1 and ntu.nesterov
    cfg = backbone_config("ntu60", {"width": "32", "backbone.lr_steps": "[10, 20]", "arch": "stgcn"})
    assert (cfg.width, cfg.lr_steps, cfg.arch) == (32, (10, 20), "stgcn")
    with pytest.raises(ValueError, match="expected int"):
        backbone_config("ntu60", {"width": "wide"})
    with pytest.raises(ValueError, match="arch"):
        backbone_config("ntu60", {"arch": "resnet"})
    with pytest.raises(KeyError):
        backbone_config("ntu60", {"widht": "3"})


def test_cpu_amp_enters_identities_only_when_switched_on(tiny_ds):
    """Adding backbone.cpu_amp changed no identity of an existing (default, "off") config:
    the checkpoint key, the runner's record and the feature-cache key are as before."""
    for dataset in ("synthetic", "ntu60", "msr_action3d"):
        default = backbone_config(dataset)
        assert default.cpu_amp == "off"
        assert "cpu_amp" not in default.training_key() and "cpu_amp" not in default.identity()
        assert default.identity() == {k: v for k, v in dataclasses.asdict(default).items() if k != "cpu_amp"}
        bf16 = backbone_config(dataset, {"cpu_amp": "bf16"})
        assert bf16.training_key()["cpu_amp"] == "bf16" and bf16.training_key() != default.training_key()
    mask, seen = train_mask_of(tiny_ds), [0, 1, 2, 3]
    assert checkpoint_dir(tiny_ds, mask, seen, TINY) != checkpoint_dir(
        tiny_ds, mask, seen, dataclasses.replace(TINY, cpu_amp="bf16"))
    with pytest.raises(ValueError, match="cpu_amp"):
        backbone_config("ntu60", {"cpu_amp": "fp16"})


def test_bf16_extraction_has_its_own_feature_cache_entry(tmp_path, tiny_ds):
    """Features extracted under bf16 autocast from the same checkpoint are cached apart from
    the float32 ones (and stored as float32 pooled / maps_dtype maps)."""
    mask, seen = train_mask_of(tiny_ds), [0, 1, 2, 3]
    ckpt = pretrain(tiny_ds, mask, seen, dataclasses.replace(TINY, epochs=1), tmp_path / "a")
    f32 = get_features(tiny_ds, mask, seen, cfg=dataclasses.replace(TINY, checkpoint=str(ckpt)), need_maps=True)
    bf16_cfg = dataclasses.replace(TINY, checkpoint=str(ckpt), cpu_amp="bf16")
    bf16 = get_features(tiny_ds, mask, seen, cfg=bf16_cfg, need_maps=True)
    assert not bf16.info["cache_hit"] and bf16.info["cache_dir"] != f32.info["cache_dir"]
    assert bf16.pooled.dtype == np.float32 and bf16.maps.dtype == np.float16
    rel = np.linalg.norm(bf16.pooled - f32.pooled) / np.linalg.norm(f32.pooled)
    assert 0 < rel < 3e-2
    assert get_features(tiny_ds, mask, seen, cfg=bf16_cfg).info["cache_hit"]


def test_cli_train_and_extract(tmp_path, capsys):
    from zssar.cli import main
    from zssar.data.dataset import write_prepared
    ds = structured_dataset(per_class=6)
    write_prepared(list(ds), tmp_path / "mini", name="mini", class_names=ds.class_names, layout="ntu25",
                   meta_fields=["subject"], extra={"protocols": {"xsub": {"field": "subject", "train_values": [0, 1, 2]}}})
    split = tmp_path / "mini_4_1.yaml"
    split.write_text("kind: split\nname: mini_4_1\ndataset: mini\nnum_classes: 5\nunseen: [4]\n")
    sets = ["--set", "width=8", "--set", "num_blocks=3", "--set", "window=16", "--set", "num_threads=1"]
    args = ["--dataset", str(tmp_path / "mini"), "--split", str(split), "--epochs", "1", "--device", "cpu", *sets]
    assert main(["backbone", "train", *args]) == 0
    assert "mini_4_1:" in capsys.readouterr().out
    assert main(["backbone", "extract", *args, "--maps"]) == 0
    out = capsys.readouterr().out
    assert "pooled (30, 32)" in out and "maps (30, 4, 25, 32)" in out
    assert main(["backbone", "extract", *args, "--maps"]) == 0
    assert "cache hit" in capsys.readouterr().out


@pytest.mark.gpu
def test_cuda_mixed_precision_pretraining_and_extraction(tiny_ds):
    mask = train_mask_of(tiny_ds)
    cfg = dataclasses.replace(TINY, epochs=1, amp=True)
    f = get_features(tiny_ds, mask, [0, 1, 2], cfg=cfg, device="cuda", need_maps=True)
    assert f.pooled.shape == (len(tiny_ds), 32) and np.isfinite(np.asarray(f.pooled)).all()
    x = torch.randn(2, 8, 3, 4, device="cuda", dtype=torch.float16, requires_grad=True)
    from zssar.backbones.shiftgcn import temporal_shift
    shift = torch.tensor([0.3, -1.2, 0.7, 2.4], device="cuda", requires_grad=True)
    temporal_shift(x, shift, 2).float().sum().backward()
    assert x.grad.shape == x.shape and shift.grad.shape == shift.shape
