"""Text encoders (cache, describe) and semantic packs (user packs, validation)."""
import numpy as np
import pytest
import yaml

from zssar import paths
from zssar.text.encoders import get_encoder
from zssar.text.packs import class_text, load_sources, read_pack

NAMES = ["wave hand", "kick ball", "sit down"]


def test_minilm_embeds_offline_and_caches_on_disk():
    enc = get_encoder("minilm")
    a = enc.encode(["a person waves a hand", "a person kicks a ball"])
    assert a.shape == (2, 384)
    cached = list((paths.cache_dir() / "text" / "minilm").glob("*.npy"))
    assert cached, "embedding cache not written"
    np.testing.assert_allclose(enc.encode(["a person waves a hand", "a person kicks a ball"]).numpy(), a.numpy())
    assert enc.describe()["id"] == "minilm" and enc.describe()["dim"] == 384


def test_unknown_encoder_suggests():
    with pytest.raises(KeyError, match="Did you mean 'minilm'"):
        get_encoder("minilmm")


def test_precomputed_encoder_refuses_new_text():
    with pytest.raises(ValueError, match="cannot embed new text"):
        get_encoder("precomputed", cache=False).encode(["x"])


def _pack(tmp_path, doc, name="pack.yaml"):
    p = tmp_path / name
    p.write_text(yaml.safe_dump(doc))
    read_pack.cache_clear()
    return p


def test_user_pack_overrides_and_is_embedded(tmp_path):
    p = _pack(tmp_path, {"class_names": NAMES, "sources": {"descriptions": [["x waves"], ["y kicks"], ["z sits"]]}})
    sents, _, prov = load_sources("mine", NAMES, ["names", "descriptions"], user_pack=p)
    assert sents["names"] == [[n] for n in NAMES] and sents["descriptions"][1] == ["y kicks"]
    assert prov["descriptions"] == str(p)
    text = class_text("mine", NAMES, [2, 0], ["descriptions"], get_encoder("minilm"), user_pack=p)
    assert text.class_ids == [2, 0] and text.embed("descriptions").shape == (2, 1, 384)


@pytest.mark.parametrize("doc,needle", [
    ({"class_names": ["a", "b", "c"], "sources": {"descriptions": [["1"], ["2"], ["3"]]}}, "class 0 is 'a'"),
    ({"class_names": NAMES, "sources": {"descriptions": [["1"], ["2"]]}}, "has 2 classes"),
    ({"class_names": NAMES, "sources": {"descriptions": [["1"], [], ["3"]]}}, "non-empty lists"),
    ({"sources": {}}, "field 'class_names' missing"),
])
def test_bad_user_pack_names_file_and_field(tmp_path, doc, needle):
    p = _pack(tmp_path, doc)
    with pytest.raises(ValueError, match=needle) as e:
        load_sources("mine", NAMES, ["descriptions"], user_pack=p)
    assert str(p) in str(e.value)


def test_missing_source_is_a_clear_error():
    with pytest.raises(KeyError, match="not available for dataset 'mine'"):
        load_sources("mine", NAMES, ["spatial_coarse"])
