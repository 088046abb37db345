"""Shipped split files: equal to upstream, valid, resolvable; user split files; the
`zssar splits` and `zssar validate` commands."""
from __future__ import annotations

import importlib.util
import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from zssar import paths
from zssar.cli import main
from zssar.commands.validate import validate_prepared, validate_split_files
from zssar.splits import load_file, load_split, resolve

SPLITS_DIR = Path(__file__).resolve().parent.parent / "splits"
SHIPPED = {"ntu60_55_5", "ntu60_48_12", "ntu120_110_10", "ntu120_96_24", "pku_mmd1_46_5", "pku_mmd1_39_12",
           "ntu60_40_20", "ntu60_30_30", "ntu120_80_40", "ntu120_60_60", "nw_ucla_8_2", "nw_ucla_5_5",
           "smie_ntu60_random", "smie_ntu120_random", "smie_pku_mmd1_random", "msr_action3d_random15_5",
           "nw_ucla_7_3"}
# these carry no upstream list: drawn by splits/make_families.py with a fixed seed
SEEDED = {"msr_action3d_random15_5", "nw_ucla_7_3"}


def _all_splits():
    """The splits this suite ships from splits/make_families.py (other files, e.g. the
    synthetic dataset's family, are only checked generically by `zssar validate`)."""
    return [s for p in sorted(SPLITS_DIR.glob("*.yaml")) for s in load_file(p) if (s.family or s.name) in SHIPPED]


def _upstream(ref: str, member: str):
    """A shared_copy reference -> list of ids (npy file, or JSON pointer into splits_summary.json)."""
    path, _, pointer = ref.partition("#")
    full = paths.shared_dir() / path
    if not pointer:
        return np.load(full, allow_pickle=False).tolist()
    node = json.loads(full.read_text())
    for key in pointer.replace("<member>", member).split("/"):
        node = node[key]
    return [pair[0] for pair in node]  # [[id, name], ...]


def test_shipped_set():
    names = {s.family or s.name for s in _all_splits()}
    assert SHIPPED <= names


def test_shipped_splits_equal_upstream(shared):
    checked = 0
    for split in _all_splits():
        prov = split.provenance
        if (split.family or split.name) in SEEDED:
            continue
        assert "shared_copy" in prov, f"{split.name}: no upstream reference"
        assert sorted(_upstream(prov["shared_copy"], split.name)) == sorted(split.unseen), split.name
        if "seen_shared_copy" in prov:
            assert sorted(_upstream(prov["seen_shared_copy"], split.name)) == list(split.seen), split.name
        if "validation_shared_copy" in prov:
            assert sorted(_upstream(prov["validation_shared_copy"], split.name)) == list(split.validation_unseen)
        checked += 1
    assert checked == 6 + 6 + 9  # SynSE-style 6, PURLS 6, SMIE 3x3


def test_known_upstream_bugs_not_copied(shared):
    ntu120 = load_split("ntu120_110_10")
    buggy = np.load(shared / "splits_upstream/fs_vae/rs100_0.npy").tolist()
    assert len(buggy) == 81  # truncated upstream file
    assert len(set(ntu120.seen) - set(ntu120.validation_unseen)) == 100
    old_48_12 = np.load(shared / "splits_upstream/synse/ru12.npy").tolist()  # historical SynSE file
    assert sorted(old_48_12) != list(load_split("ntu60_48_12").unseen)


def test_every_shipped_split_is_valid():
    # every file in splits/, including other engineers' (e.g. synthetic_*.yaml)
    problems, warnings, count = validate_split_files(sorted(SPLITS_DIR.glob("*.yaml")))
    assert problems == []
    assert count >= 12 + 9 + 30 + 120
    assert not [w for w in warnings if "validation_unseen" in w]


def test_ntu_names_match_dataset_module():
    try:
        from zssar.data.ntu import CLASS_NAMES  # noqa: F401  (written by another engineer)
    except ImportError:
        pytest.skip("zssar.data.ntu not available yet: NTU split names cannot be checked")
    ntu = [s for s in _all_splits() if s.dataset.startswith("ntu")]
    problems, _, _ = validate_split_files(sorted({Path(s.source) for s in ntu}))
    assert problems == []


def test_small_dataset_names_checked():
    from zssar.data import msr, nwucla, pku
    for split in _all_splits():
        names = {"pku_mmd1": pku.CLASS_NAMES, "msr_action3d": msr.CLASS_NAMES, "nw_ucla": nwucla.CLASS_NAMES}.get(split.dataset)
        if names:
            assert list(split.unseen_names) == [names[i] for i in split.unseen]


def test_families_resolve():
    ucla = resolve("nw_ucla_7_3")
    assert len(ucla) == 120 and all(s.family == "nw_ucla_7_3" for s in ucla)
    assert sorted(s.unseen for s in ucla) == list(itertools.combinations(range(10), 3))
    assert all(len(s.validation_unseen) == 3 and not set(s.validation_unseen) & set(s.unseen) for s in ucla)
    one = resolve("nw_ucla_7_3/u1_4_8")
    assert len(one) == 1 and one[0].unseen == (1, 4, 8) and len(one[0].seen) == 7
    msr = resolve("msr_action3d_random15_5")
    assert len(msr) == 30 and len({s.unseen for s in msr}) == 30
    assert all(len(s.unseen) == 5 and len(s.validation_unseen) == 5 for s in msr)
    smie = resolve("smie_pku_mmd1_random")
    assert [s.name for s in smie] == ["split_7", "split_8", "split_9"]
    assert smie[0].unseen == load_split("pku_mmd1_46_5").unseen
    with pytest.raises(ValueError, match="family of 3 splits"):
        load_split("smie_ntu60_random")


def test_validation_sizes():
    for split in _all_splits():
        n_seen = split.num_classes - len(split.unseen)
        assert len(split.validation_unseen) == min(len(split.unseen), n_seen // 2), split.name
        assert set(split.validation_unseen) <= set(split.seen)
        # the validation world still trains on at least as many classes as it holds out
        assert n_seen - len(split.validation_unseen) >= len(split.validation_unseen)


def test_generator_reproduces_shipped_files():
    spec = importlib.util.spec_from_file_location("make_families", SPLITS_DIR / "make_families.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    try:
        files = gen.build()
    except (ImportError, FileNotFoundError) as e:
        pytest.skip(f"NTU class names unavailable (no zssar.data.ntu and no ../shared): {e}")
    for name, text in files.items():
        assert (SPLITS_DIR / name).read_text() == text, f"{name} differs: re-run splits/make_families.py"


USER_SPLIT = """kind: split
name: my_split
dataset: msr_action3d
num_classes: 20
unseen: [0, 5, 7]
unseen_names: [high arm wave, high throw, draw tick]
validation_unseen: [1, 2, 3]
"""


def test_user_split_path(tmp_path, capsys):
    path = tmp_path / "mine.yaml"
    path.write_text(USER_SPLIT)
    split = load_split(str(path))
    assert split.name == "my_split" and split.source == str(path) and len(split.seen) == 17
    assert main(["splits", "show", str(path)]) == 0
    out = capsys.readouterr().out
    assert "0 high arm wave | 5 high throw | 7 draw tick" in out and "validation (3)" in out


@pytest.mark.parametrize("text, match", [
    ("kind: split\nname: x\n  bad: [", "not valid YAML"),
    ("kind: split\nname: x\ndataset: msr_action3d\nnum_classes: 20\n", r"field 'unseen' missing"),
    ("kind: split\nname: x\ndataset: msr_action3d\nnum_classes: 20\nunseen: [a, 2]\n",
     r"field 'unseen' must be a list of 0-based integer class ids"),
    ("kind: group\nname: x\n", r"field 'kind' is 'group'"),
    ("- 1\n- 2\n", "expected a mapping"),
])
def test_bad_split_files_fail_to_load(tmp_path, text, match):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ValueError, match=match) as e:
        load_file(path)
    assert str(path) in str(e.value)
    problems, _, _ = validate_split_files([path])
    assert len(problems) == 1 and str(path) in problems[0]


@pytest.mark.parametrize("replace, match", [
    (("unseen: [0, 5, 7]", "unseen: [0, 5, 27]"), r"ids out of range 0..19: \[27\]"),
    (("validation_unseen: [1, 2, 3]", "validation_unseen: [1, 2, 5]"), r"but \[5\] are unseen"),
    (("high throw", "hammer"), r"unseen id 5 is named 'hammer', dataset says 'high throw'"),
    (("num_classes: 20", "num_classes: 21"), r"num_classes is 21 but dataset msr_action3d has 20"),
    (("unseen: [0, 5, 7]", "unseen: [0, 5, 5]"), r"field 'unseen' has duplicate ids"),
])
def test_invalid_split_reported(tmp_path, replace, match, capsys, monkeypatch):
    folder = tmp_path / "splits"
    folder.mkdir()
    (folder / "mine.yaml").write_text(USER_SPLIT.replace(*replace))
    problems, _, _ = validate_split_files([folder / "mine.yaml"])
    assert any(__import__("re").search(match, p) for p in problems), problems
    monkeypatch.setenv("ZSSAR_SPLITS", str(folder))
    monkeypatch.setenv("ZSSAR_DATA", str(tmp_path / "no_data"))
    assert main(["validate"]) == 1
    assert "problem:" in capsys.readouterr().out


def test_other_datasets_families_handled_generically(tmp_path, monkeypatch, capsys):
    """A family for a dataset whose class names are unknown: checked, names skipped with a warning."""
    folder = tmp_path / "splits"
    folder.mkdir()
    (folder / "synthetic_demo.yaml").write_text(
        "kind: family\nname: synthetic_demo\ndataset: toy_demo\nnum_classes: 6\nmembers:\n"
        "  - {name: a, unseen: [0, 1], validation_unseen: [2, 3]}\n"
        "  - {name: b, unseen: [4, 5], validation_unseen: [0, 1]}\n")
    monkeypatch.setenv("ZSSAR_SPLITS", str(folder))
    monkeypatch.setenv("ZSSAR_DATA", str(tmp_path / "no_data"))
    assert [s.name for s in resolve("synthetic_demo")] == ["a", "b"]
    assert main(["validate"]) == 0
    out = capsys.readouterr().out
    assert "checked 2 splits and 0 prepared datasets: 0 problems" in out
    assert "dataset 'toy_demo': class names unavailable" in out
    assert main(["splits", "list"]) == 0
    assert "synthetic_demo" in capsys.readouterr().out


def test_splits_cli(capsys):
    assert main(["splits", "list"]) == 0
    out = capsys.readouterr().out
    for name in ("ntu60_55_5", "pku_mmd1_39_12", "nw_ucla_7_3", "msr_action3d_random15_5"):
        assert name in out
    assert main(["splits", "show", "pku_mmd1_46_5"]) == 0
    out = capsys.readouterr().out
    assert "unseen (5):" in out and "1 brushing hair" in out and "seen (46):" in out
    assert main(["splits", "show", "nw_ucla_7_3/u0_1_2", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["unseen"] == [0, 1, 2] and d["seen_names"][0] == "walk around" and len(d["validation_names"]) == 3
    assert main(["splits", "show", "smie_ntu60_random", "--json"]) == 0
    assert [m["name"] for m in json.loads(capsys.readouterr().out)] == ["split_1", "split_2", "split_3"]
    assert main(["splits", "show", "ntu60_5_55"]) == 2
    assert "unknown split 'ntu60_5_55'" in capsys.readouterr().err


def test_validate_prepared_dataset(tmp_path, capsys):
    from test_custom_dataset import make_folder
    from zssar.data import custom
    out = tmp_path / "prepared"
    custom.prepare(make_folder(tmp_path / "raw"), out)
    assert validate_prepared(out) == []
    assert main(["validate", "--data", str(out)]) == 0
    assert "1 prepared datasets: 0 problems" in capsys.readouterr().out
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["class_counts"][0] += 1
    (out / "manifest.json").write_text(json.dumps(manifest))
    assert any("class_counts" in p for p in validate_prepared(out))
    manifest["class_counts"][0] -= 1
    (out / "manifest.json").write_text(json.dumps(manifest))
    joints = out / "shard-00000.joints.npy"
    data = bytearray(joints.read_bytes())
    data[-1] ^= 0xFF
    joints.write_bytes(bytes(data))
    problems = validate_prepared(out)
    assert len(problems) == 1 and "sha256 differs" in problems[0] and "joints_sha256" in problems[0]
    assert validate_prepared(out, check_hashes=False) == []
    assert main(["validate", "--data", str(out)]) == 1
    (out / "shard-00000.index.npz").unlink()
    assert any("missing" in p for p in validate_prepared(out))
    assert validate_prepared(tmp_path / "nothing") == [f"{tmp_path / 'nothing'}: no manifest.json (not a prepared dataset)"]
