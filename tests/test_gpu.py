"""CUDA paths; skipped without a GPU (marker `gpu`)."""
import pytest

import toydata
from methods import registry
from zssar.runner import RunOptions, run_one
from zssar.splits import Split


@pytest.mark.gpu
def test_runner_on_cuda(monkeypatch):
    monkeypatch.setitem(registry.METHODS, "toy", "toydata:ToyMethod")
    split = Split(name="toy", dataset="toy", version=1, num_classes=10, unseen=(2, 7), validation_unseen=(4,))
    out = run_one(RunOptions(method="toy", dataset="toy", device="cuda"), split, toydata.toy_dataset())
    assert out.result["env"]["device"] == "cuda" and out.result["status"] == "complete"


@pytest.mark.gpu
@pytest.mark.parametrize("name", registry.available_methods())
def test_every_method_fits_on_cuda(name):
    import torch
    from test_methods_smoke import class_text, method_data, quick_config

    from zssar.data.layouts import get_layout
    from zssar.text.encoders import get_encoder
    cls = registry.get_method(name)
    method = cls(quick_config(cls), device="cuda", seed=0)
    text = class_text(get_encoder("minilm"))
    labels = torch.tensor([0, 1, 2, 3, 4, 5] * 4)
    method.fit(method_data(len(labels), labels, get_layout("ntu25")), text.subset([0, 1, 2, 3, 4, 5]))
    pred = method.predict(method_data(6, torch.tensor([6, 7] * 3), get_layout("ntu25")), text.subset([6, 7]))
    assert pred.scores.shape == (6, 2)


def test_cuda_request_without_gpu_is_a_clear_error():
    import torch
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    from zssar.env import resolve_device
    with pytest.raises(ValueError, match="no CUDA device is available"):
        resolve_device("cuda")
    device, why = resolve_device("auto")
    assert device == "cpu" and "no CUDA device" in why
