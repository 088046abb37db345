"""Context packs (zssar/text/packs/context) and their loader zssar.text.context."""
from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest
import yaml

from zssar.data.layouts import BODY_PARTS
from zssar.text.context import (PAPER_TEMPLATE, SLOTS, class_prompts, context_from_name, fill, load_pack, pack_path,
                                synthetic_pack)

MSR = ["high arm wave", "horizontal arm wave", "hammer", "hand catch", "forward punch", "high throw", "draw x",
       "draw tick", "draw circle", "hand clap", "two hand wave", "side-boxing", "bend", "forward kick", "side kick",
       "jogging", "tennis swing", "tennis serve", "golf swing", "pick up & throw"]
NW_UCLA = ["pick up with one hand", "pick up with two hands", "drop trash", "walk around", "sit down", "stand up",
           "donning", "doffing", "throw", "carry"]
COUNTS = {"ntu120": 120, "ntu60": 60, "pku_mmd1": 51, "msr_action3d": 20, "nw_ucla": 10}


@pytest.mark.parametrize("dataset", sorted(COUNTS))
def test_every_shipped_pack_gives_every_class_its_own_context(dataset, minilm):
    """SkeletonContext aligns its context branch with the class-mean embedding of the filled
    prompts: two classes with (near-)identical prompts cannot be told apart by it. (The derived
    synthetic pack is checked with the other synthetic text, in test_synthetic.py.)"""
    import numpy as np
    pack = load_pack(dataset)
    prompts = class_prompts(pack.classes)
    assert len({tuple(p) for p in prompts}) == len(prompts)
    e = np.stack([minilm.encode(p).numpy().mean(0) for p in prompts])
    e /= np.linalg.norm(e, axis=1, keepdims=True)
    cos = e @ e.T
    np.fill_diagonal(cos, -1)
    i, j = np.unravel_index(cos.argmax(), cos.shape)
    assert cos[i, j] < 0.995, f"{dataset}: {pack.classes[i].name!r} and {pack.classes[j].name!r} (cos {cos[i, j]:.4f})"


@pytest.mark.parametrize("dataset", sorted(COUNTS))
def test_shipped_packs_are_complete(dataset):
    pack = load_pack(dataset)
    assert len(pack.classes) == COUNTS[dataset] and pack.sha256
    for c in pack.classes:
        assert len(c.variants) >= 3 and set(c.parts) <= set(BODY_PARTS) and c.parts
        assert len({(v["environment"], v["object"], v["target"]) for v in c.variants}) >= 2, c.name
        for v in c.variants:
            assert set(v) == set(SLOTS)
            fill(PAPER_TEMPLATE, v)
    # prompts differ between classes: there is something class-specific to reconstruct
    objects = [tuple(v["object"] for v in c.variants) for c in pack.classes]
    assert len(set(objects)) > 0.6 * len(objects)


def test_exact_msr_and_nw_ucla_names():
    assert [c.name for c in load_pack("msr_action3d").classes] == MSR
    assert [c.name for c in load_pack("nw_ucla").classes] == NW_UCLA


@pytest.mark.parametrize("dataset", sorted(COUNTS))
def test_packs_match_the_dataset_modules(dataset):
    from zssar.data.registry import dataset_module
    try:
        names = list(dataset_module(dataset).CLASS_NAMES)
    except ImportError as e:
        pytest.skip(f"dataset module not available: {e}")
    pack = load_pack(dataset, names)
    assert [c.name.lower() for c in pack.classes] == [n.lower() for n in names]


def test_ntu60_is_the_first_60_ntu120_entries():
    assert load_pack("ntu60").classes == load_pack("ntu120").classes[:60]
    assert pack_path("ntu60") == pack_path("ntu120")


@pytest.mark.shared
def test_names_match_the_upstream_label_files(shared):
    star = [l.strip() for l in (shared / "semantics/star/ntu120_label.txt").read_text().splitlines() if l.strip()]
    ntu = load_pack("ntu120")
    assert all(c.matches(s) for c, s in zip(ntu.classes, star)) and len(star) == 120
    pku = [l.split(";")[0].strip() for l in
           (shared / "semantics/star/pkuv1_part_descriptions.txt").read_text().splitlines() if l.strip()]
    assert [c.name for c in load_pack("pku_mmd1").classes] == pku


def _write(tmp_path: Path, doc) -> Path:
    path = tmp_path / "user_pack.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def _doc(**entry):
    base = {"name": "jump", "parts": ["leg"], "variants": [
        {"environment": "a gym", "body_part": "the legs", "object": "a rope", "sub_action": "jump", "target": "the floor"}]}
    base.update(entry)
    return {"format": "zssar-context-pack/1", "classes": [base]}


def test_user_pack_loads_and_validates_class_names(tmp_path):
    path = _write(tmp_path, _doc())
    pack = load_pack(str(path), ["Jump"])
    assert pack.source == str(path) and pack.classes[0].variants[0]["object"] == "a rope"
    with pytest.raises(ValueError, match=r"classes\[0\]\.name is 'jump'.*'run'"):
        load_pack(str(path), ["run"])
    with pytest.raises(ValueError, match="has 1 classes, the dataset has 2"):
        load_pack(str(path), ["jump", "run"])


@pytest.mark.parametrize("entry, message", [
    (dict(parts=["wing"]), r"classes\[0\] \('jump'\): field 'parts'"),
    (dict(parts=[]), "field 'parts'"),
    (dict(variants=[{"environment": "a gym"}]), r"variants\[0\]\.body_part must be a non-empty string"),
    (dict(variants=[{s: "x" for s in SLOTS} | {"mood": "happy"}]), "unknown slots"),
    (dict(variants=[]), "field 'variants'"),
    (dict(name=""), "field 'name'"),
    (dict(id=3), "field 'id' is 3"),
    (dict(aliases="jumping"), "field 'aliases'"),
])
def test_bad_packs_name_the_file_entry_and_field(tmp_path, entry, message):
    path = _write(tmp_path, _doc(**entry))
    with pytest.raises(ValueError, match=message) as err:
        load_pack(str(path))
    assert str(path) in str(err.value)


def test_bad_format_and_missing_files(tmp_path):
    path = _write(tmp_path, {"classes": []})
    with pytest.raises(ValueError, match="field 'format'"):
        load_pack(str(path))
    with pytest.raises(FileNotFoundError, match="no context pack for dataset 'kinetics'"):
        load_pack("kinetics")
    with pytest.raises(FileNotFoundError):
        load_pack(str(tmp_path / "absent.yaml"))


def test_synthetic_pack_from_class_specs(monkeypatch):
    fake = types.ModuleType("zssar.data.synthetic")
    fake.CLASS_SPECS = [types.SimpleNamespace(name="wave left", limb="left_arm", motion="wave",
                                              environment="in a park", object="an empty hand", target="a friend"),
                        types.SimpleNamespace(name="nod", limb="head", motion="nod",
                                              environment="", object="", target="")]
    fake.CLASS_NAMES = ["wave left", "nod"]
    monkeypatch.setitem(sys.modules, "zssar.data.synthetic", fake)
    import zssar.data
    monkeypatch.setattr(zssar.data, "synthetic", fake, raising=False)
    pack = synthetic_pack()
    wave, nod = pack.classes
    assert wave.variants[0] == {"environment": "a park", "body_part": "the left arm", "object": "an empty hand",
                                "sub_action": "wave", "target": "a friend"}
    assert wave.parts == ("arm", "hand")
    assert nod == context_from_name("nod")  # a spec without context falls back to the name
    assert "1 classes from class names" in pack.source


def test_synthetic_fallback_without_the_module(monkeypatch):
    import zssar.data
    monkeypatch.setitem(sys.modules, "zssar.data.synthetic", None)  # import fails
    monkeypatch.delattr(zssar.data, "synthetic", raising=False)
    pack = synthetic_pack(["a", "b"])
    assert "fallback" in pack.source and [c.name for c in pack.classes] == ["a", "b"]
    assert pack.classes[0].variants[0]["sub_action"] == "a"


def test_real_synthetic_module_if_present():
    try:
        from zssar.data.synthetic import CLASS_NAMES, CLASS_SPECS
    except ImportError:
        pytest.skip("zssar.data.synthetic not written yet")
    pack = load_pack("synthetic")
    assert [c.name for c in pack.classes] == list(CLASS_NAMES)
    assert all(c.variants[0]["object"] == s.object for c, s in zip(pack.classes, CLASS_SPECS) if s.object)
