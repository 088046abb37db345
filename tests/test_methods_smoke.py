"""Every registered method is smoke-tested for free: fit/predict on small random data with
20- and 25-joint layouts, and one real `zssar bench` run on the synthetic default."""
import dataclasses

import numpy as np
import pytest
import torch

from methods.base import ClassText, MethodData, Prediction
from methods.registry import available_methods, get_method
from zssar.data.layouts import BODY_PARTS, get_layout
from zssar.text.encoders import get_encoder

STANDARD_SOURCES = (["names", "templates", "descriptions"] + [f"spatial_{g}" for g in ("coarse", "medium", "fine")]
                    + [f"temporal_{i}" for i in (1, 2, 3)] + [f"part_{p}" for p in BODY_PARTS])
NAMES = ["wave the left hand", "kick with the right foot", "sit down slowly", "jump up",
         "clap both hands", "bow the head", "turn the whole body around", "push the other person"]


def quick_config(cls):
    """The method's defaults, shortened (fewer epochs) so the smoke test stays fast."""
    cfg = cls.default_config("synthetic")
    short = {f.name: 2 for f in dataclasses.fields(cfg) if f.name in ("epochs", "num_epochs")}
    return dataclasses.replace(cfg, **short)


def class_text(encoder):
    sentences = {}
    for src in STANDARD_SOURCES:
        if src == "names":
            sentences[src] = [[n] for n in NAMES]
        else:
            sentences[src] = [[f"{n}: {src.replace('_', ' ')} detail {k}." for k in range(3)] for n in NAMES]
    return ClassText(list(range(len(NAMES))), NAMES, sentences, encoder, dataset="smoke")


def method_data(n, labels, layout, d=32, t=4):
    g = torch.Generator().manual_seed(n)
    v = layout.num_joints
    maps = torch.randn(n, t, v, d, generator=g)
    maps += torch.nn.functional.one_hot(labels % d, d).float()[:, None, None, :] * 2  # learnable signal
    return MethodData(sample_ids=np.array([f"s{i}" for i in range(n)]), labels=labels,
                      features=maps.mean(dim=(1, 2)), maps=maps, layout=layout)


@pytest.fixture(scope="module")
def encoder():
    return get_encoder("minilm")


@pytest.mark.parametrize("layout_name", ["ntu25", "kinect_v1_20"])
@pytest.mark.parametrize("name", available_methods())
def test_fit_predict_contract(name, layout_name, encoder):
    cls = get_method(name)
    assert cls.name == name and cls.version and cls.paper
    assert dataclasses.is_dataclass(cls.Config)
    method = cls(quick_config(cls), device="cpu", seed=0)
    text = class_text(encoder)
    seen, unseen = [0, 1, 2, 3, 4, 5], [6, 7]
    for src in method.requires.text_sources:
        assert src in STANDARD_SOURCES or src in text.sentences, f"non-standard text source {src!r}"
    layout = get_layout(layout_name)
    labels = torch.tensor(seen * 8)
    method.fit(method_data(len(labels), labels, layout), text.subset(seen))
    test = method_data(10, torch.tensor([6, 7] * 5), layout)
    for candidates in (unseen, list(range(8))):
        pred = method.predict(test, text.subset(candidates))
        assert isinstance(pred, Prediction)
        assert pred.scores.shape == (10, len(candidates))
        assert np.isfinite(pred.scores).all()
        for head, s in pred.heads.items():
            assert s.shape == pred.scores.shape, head


@pytest.mark.parametrize("name", available_methods())
def test_no_unseen_text_reaches_training_by_default(name, encoder):
    cls = get_method(name)
    method = cls(quick_config(cls), device="cpu", seed=0)
    assert not method.leaks_unseen_text, f"{name} trains with unseen-class text by default"
