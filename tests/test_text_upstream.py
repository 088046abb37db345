"""Upstream text packs (../shared/semantics) and the project-written YAML packs."""
from __future__ import annotations

import json

import pytest
import torch
import yaml

from zssar import paths
from zssar.text import upstream

PACK_SOURCES = ("descriptions", "spatial_coarse", "spatial_medium", "spatial_fine", "temporal_1", "temporal_2",
                "temporal_3", "part_head", "part_hand", "part_arm", "part_hip", "part_leg", "part_foot")
MSR_CLASSES = ["high arm wave", "horizontal arm wave", "hammer", "hand catch", "forward punch", "high throw",
               "draw x", "draw tick", "draw circle", "hand clap", "two hand wave", "side-boxing", "bend",
               "forward kick", "side kick", "jogging", "tennis swing", "tennis serve", "golf swing",
               "pick up & throw"]
UCLA_CLASSES = ["pick up with one hand", "pick up with two hands", "drop trash", "walk around", "sit down",
                "stand up", "donning", "doffing", "throw", "carry"]


# -- real upstream files -----------------------------------------------------------------
@pytest.mark.shared
@pytest.mark.parametrize("dataset,n", [("ntu60", 60), ("ntu120", 120), ("pku_mmd1", 51)])
def test_neuron_sources_have_ten_descriptions_and_clip_features(dataset, n):
    for source in upstream.NEURON_SOURCES:
        sentences, emb, prov = upstream.load(dataset, source, n)
        assert len(sentences) == n and all(len(s) == 10 for s in sentences)
        assert emb.shape == (n, 10, 768) and emb.dtype == torch.float32 and emb.device.type == "cpu"
        assert "semantics/neuron" in prov and prov.count(".tar") == 1


@pytest.mark.shared
def test_ntu60_is_the_first_60_ntu120_classes():
    for source in ("spatial_fine", "temporal_2", "part_leg"):
        s60, e60, _ = upstream.load("ntu60", source, 60)
        s120, e120, _ = upstream.load("ntu120", source, 120)
        assert s60 == s120[:60]
        if e60 is not None:
            assert torch.equal(e60, e120[:60])


@pytest.mark.shared
def test_temporal_phase_files():
    assert "temporal_fsp.tar" in upstream.load("ntu120", "temporal_2", 120)[2]
    assert "temporal_fstp.tar" in upstream.load("pku_mmd1", "temporal_3", 51)[2]
    first = upstream.load("ntu120", "temporal_1", 120)[0][0][0]
    assert first.startswith("Reaching for the glass")  # class 0 = drink water


@pytest.mark.shared
@pytest.mark.parametrize("dataset,n", [("ntu120", 120), ("pku_mmd1", 51)])
def test_star_parts_and_neuron_share_the_class_order(dataset, n, shared):
    star_file = "ntu120_part_descriptions.txt" if dataset == "ntu120" else "pkuv1_part_descriptions.txt"
    star_names = [r[0] for r in upstream._star_rows(str(shared / "semantics" / "star" / star_file))]
    assert [s.lower() for s in star_names] == [s.lower() for s in upstream.neuron_class_names(dataset)]
    for part in upstream.STAR_PARTS:
        sentences, emb, prov = upstream.load(dataset, f"part_{part}", n)
        assert emb is None and len(sentences) == n and all(len(s) == 1 and len(s[0]) > 10 for s in sentences)
        assert part.capitalize() in prov
    assert upstream.load(dataset, "part_hand", n)[0][0] != upstream.load(dataset, "part_foot", n)[0][0]


@pytest.mark.shared
def test_smie_sentences():
    assert len(upstream.load("ntu60", "smie", 60)[0]) == 60
    assert upstream.load("ntu120", "smie", 120)[0][0][0].startswith('"Drink water"')
    assert len(upstream.load("pku_mmd1", "smie", 51)[0]) == 51


@pytest.mark.shared
def test_unavailable_and_wrong_requests():
    assert upstream.load("msr_action3d", "spatial_fine", 20) is None
    assert upstream.load("ntu60", "descriptions", 60) is None  # not an upstream source
    with pytest.raises(ValueError, match="covers 60 classes"):
        upstream.load("ntu60", "spatial_fine", 59)


@pytest.mark.shared
def test_packs_route_ntu_sources_to_upstream_with_precomputed_embeddings():
    pytest.importorskip("zssar.data.ntu")
    from zssar.text.packs import load_sources
    names = [f"c{i}" for i in range(60)]
    sentences, pre, prov = load_sources("ntu60", names, ["spatial_fine", "part_head"])
    assert pre["spatial_fine"].shape == (60, 10, 768) and "part_head" not in pre
    assert "Neuron" in prov["spatial_fine"] and "STAR" in prov["part_head"]


# -- behaviour without ../shared and on bad files -----------------------------------------
def test_missing_shared_gives_none(tmp_path, monkeypatch):
    monkeypatch.setenv("ZSSAR_SHARED", str(tmp_path))
    assert upstream.load("ntu120", "spatial_fine", 120) is None
    assert upstream.load("ntu120", "part_head", 120) is None


def _fake_neuron(root, n=3, k=2, dim=4, emb_classes=None):
    base = root / "semantics" / "neuron" / "pku" / "spatial"
    base.mkdir(parents=True)
    doc = {f"class {c}": [f"c{c} s{i}" for i in range(k)] for c in range(n)}
    (base / "spatial_fg.json").write_text(json.dumps(doc))
    torch.save(torch.arange((emb_classes or n) * k * dim, dtype=torch.float32).reshape(-1, k, dim),
               base / "pkuv1_gpt4omini_incontext_spatial_fg.tar")
    return base


def test_neuron_reader_on_a_small_fake_pack(tmp_path, monkeypatch):
    monkeypatch.setenv("ZSSAR_SHARED", str(tmp_path))
    monkeypatch.setitem(upstream._EXPECTED_CLASSES, "pku_mmd1", 3)
    _fake_neuron(tmp_path)
    sentences, emb, prov = upstream.load("pku_mmd1", "spatial_fine", 3)
    assert sentences == [["c0 s0", "c0 s1"], ["c1 s0", "c1 s1"], ["c2 s0", "c2 s1"]]
    assert emb.shape == (3, 2, 4) and emb[1, 0, 0] == 8


def test_neuron_reader_rejects_mismatched_embeddings(tmp_path, monkeypatch):
    monkeypatch.setenv("ZSSAR_SHARED", str(tmp_path))
    monkeypatch.setitem(upstream._EXPECTED_CLASSES, "pku_mmd1", 3)
    _fake_neuron(tmp_path, emb_classes=4)
    with pytest.raises(ValueError, match="does not match"):
        upstream.load("pku_mmd1", "spatial_fine", 3)


def test_star_reader_names_the_bad_line(tmp_path):
    path = tmp_path / "parts.txt"
    path.write_text("wave; Head: still; Hand: waves; Arm: up; Hip: still; Leg: still; Foot: still\n"
                    "jump; Head: up; Hand: free; Arm: swing; Hip: extends; Leg: pushes\n")
    with pytest.raises(ValueError, match=r"line 2 \('jump'\).*\['foot'\]"):
        upstream._star_rows(str(path))


def test_star_reader_keeps_semicolons_inside_a_field(tmp_path):
    path = tmp_path / "parts2.txt"
    path.write_text("wave; Head: still; Hand: waves; then rests; Arm: up; Hip: -; Leg: -; Foot: -\n")
    (name, parts), = upstream._star_rows(str(path))
    assert name == "wave" and parts["hand"] == "waves; then rests."


# -- project-written packs -----------------------------------------------------------------
@pytest.mark.parametrize("dataset,classes", [("msr_action3d", MSR_CLASSES), ("nw_ucla", UCLA_CLASSES)])
def test_project_packs_are_complete_and_class_specific(dataset, classes):
    doc = yaml.safe_load((paths.semantics_dir() / f"{dataset}.yaml").read_text())
    assert doc["class_names"] == classes
    assert "project" in doc["provenance"]
    for source in PACK_SOURCES:
        per_class = doc["sources"][source]
        assert len(per_class) == len(classes), source
        for sents in per_class:
            assert sents and all(isinstance(s, str) and len(s.split()) >= 3 for s in sents), (source, sents)
        if not source.startswith("part_"):
            assert all(len(s) >= 2 for s in per_class), source  # several sentences per class
        flat = [s for sents in per_class for s in sents]
        if source in ("descriptions", "spatial_fine", "temporal_2"):
            assert len(set(flat)) == len(flat), f"{source}: a sentence is reused across classes"


def test_project_packs_load_through_the_pack_loader():
    from zssar.text.packs import load_sources
    sentences, pre, prov = load_sources("nw_ucla", UCLA_CLASSES, ["spatial_coarse", "part_foot"])
    assert len(sentences["spatial_coarse"]) == 10 and not pre
    assert prov["part_foot"].endswith("nw_ucla.yaml")
