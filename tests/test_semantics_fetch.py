"""`zssar semantics fetch` against a local mirror: pinned hashes are enforced."""
import hashlib

import pytest

from zssar.cli import main
from zssar.text.fetch import pinned_files


def _mirror_from_shared(shared, mirror, group):
    for f in pinned_files([group]):
        src = shared / "semantics" / f.dest
        dst = mirror / f.repo / f.path
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_bytes(src.read_bytes())


def test_pinned_manifest_is_well_formed():
    files = pinned_files()
    assert len(files) > 30
    for f in files:
        assert len(f.commit) == 40 and len(f.sha256) == 64 and f.bytes > 0
    assert {"neuron", "star", "smie"} <= {f.group for f in files}


def test_fetch_from_mirror_verifies_and_is_idempotent(shared, tmp_path, capsys):
    mirror, dest = tmp_path / "mirror", tmp_path / "dest"
    _mirror_from_shared(shared, mirror, "star")
    assert main(["semantics", "fetch", "--only", "star", "--mirror", str(mirror), "--dest", str(dest)]) == 0
    for f in pinned_files(["star"]):
        assert hashlib.sha256((dest / f.dest).read_bytes()).hexdigest() == f.sha256
    assert main(["semantics", "fetch", "--only", "star", "--mirror", str(mirror), "--dest", str(dest)]) == 0
    assert "present" in capsys.readouterr().out


def test_tampered_file_is_refused(shared, tmp_path, capsys):
    mirror, dest = tmp_path / "mirror", tmp_path / "dest"
    _mirror_from_shared(shared, mirror, "smie")
    victim = pinned_files(["smie"])[0]
    (mirror / victim.repo / victim.path).write_text("tampered\n")
    assert main(["semantics", "fetch", "--only", "smie", "--mirror", str(mirror), "--dest", str(dest)]) == 1
    assert "sha256 mismatch" in capsys.readouterr().out
    assert not (dest / victim.dest).exists()


def test_unknown_group_is_an_error():
    with pytest.raises(ValueError, match="unknown semantic groups"):
        pinned_files(["nope"])
