"""SkeletonContext (Wang et al., CVPR 2026): skeleton-side context prompt learning.

Two branches on the frozen Shift-GCN maps (N, T', V, C):
- context branch: DJE -> skeleton tokens <-> masked context prompt (masked LM) through
  bi-directional cross-attention; the masked slot words are reconstructed (L_ccr, SCG) on
  a progressive masking schedule (PPM); the global skeleton token is aligned with the
  class's contextual semantic embedding;
- part branch: KPD joint-importance map K, part feature K ⊙ F aligned with the action
  semantic embedding; K calibrated to a body-part prior (L_kpd).
Scores: the two branches' cosine logits fused (`fuse_weight`); each branch is also a head.
See README.md for the mapping to the paper and upstream, and every deviation.
"""
from __future__ import annotations

import itertools
import math
import string
from dataclasses import dataclass

import numpy as np

from methods.base import ClassText, MethodData, Method, Prediction, Requirements
from zssar.data.layouts import BODY_PARTS
from zssar.text.context import CONTEXT_SLOTS, PAPER_TEMPLATE, SLOTS

_PAPER = ("N. Wang et al., SkeletonContext: Skeleton-side Context Prompt Learning for Zero-Shot "
          "Skeleton-based Action Recognition, CVPR 2026, arXiv:2603.29692")

# Upstream trains "following Neuron" (Neuron config: SGD nesterov, lr 0.1, wd 5e-4, batch 64,
# lr x0.1 at epochs 4 and 20, 30 epochs) with Neuron's CLIP descriptions.
_PAPER_SCHEDULE = dict(optimizer="sgd", lr=0.1, weight_decay=5e-4, momentum=0.9, nesterov=True,
                       lr_steps=(4, 20), lr_decay=0.1, epochs=30, batch_size=64,
                       context_source="temporal_3", action_source="spatial_fine",
                       kpd_prior="part_descriptions")


@dataclass
class Config:
    # ablation switches (one per mechanism; the paper's ablation table)
    dje: bool = True              # Differential Joint Encoder
    context_prompt: bool = True   # cross-modal context prompt + masked reconstruction (SCG)
    ppm: bool = True              # Progressive Partial Masking (off: every context slot masked from the start)
    kpd: bool = True              # Key Part Decoupling (off: plain pooling, no calibration loss)
    # semantics
    context_source: str = "context_prompts"  # text source aligned with the context branch; "context_prompts" =
    #                                          the class's filled context prompts embedded by the run's encoder
    # action semantics aligned with the part branch; "descriptions" (with fuse_weight 0.3) chosen over
    # "templates" on the synthetic family's VALIDATION classes (val ZSL 84.9 vs 67.1; record
    # results/tuned/superseded/synthetic/skeletoncontext.yaml, superseded for fuse_weight only);
    # falls back to templates where a dataset has none
    action_source: str = "descriptions"
    context_pack: str = ""                   # "" = shipped pack of the dataset; or a YAML path (user/LLM pack)
    prompt_template: str = PAPER_TEMPLATE    # slots: environment, body_part, object, sub_action, target
    masked_slots: tuple[str, ...] = CONTEXT_SLOTS  # the slots PPM masks
    test_prompt: str = "masked"              # "masked": every slot [MASK] (class-agnostic, upstream);
    #                                          "candidates": each candidate's own context (N x C passes)
    kpd_prior: str = "context_pack"          # "part_descriptions" (STAR part_* text) or "context_pack" (`parts`)
    masked_lm: str = "bert-base-uncased"     # falls back to MiniLM offline; "tiny-random" = unit tests only
    mlm_vocab: str = "prompts"               # softmax over "full" vocabulary, or the word pieces of the
    #                                          training prompts (seen classes only; ~100x cheaper on CPU)
    freeze_lm_body: bool = True
    # model
    xattn_layers: int = 1
    xattn_heads: int = 4
    kpd_hidden: int = 256
    proj_hidden: int = 512
    dropout: float = 0.1
    # losses and scores
    temperature: float = 0.1      # logits = cosine / temperature in the alignment losses
    ccr_weight: float = 1.0
    kpd_weight: float = 1.0
    # weight of the context branch in the fused score: 0.1 chosen over 0.2 / 0.3 (v1.1) / 0.5 on the
    # synthetic family's VALIDATION classes (val ZSL 88.9 vs 88.2 / 84.9 / 80.7; record
    # results/tuned/synthetic/skeletoncontext.fuse.yaml); inference only, training is unchanged
    fuse_weight: float = 0.1
    ppm_ramp: float = 1.0         # T of r_t = min(1, t/T), as a fraction of the epochs
    # optimisation
    optimizer: str = "adamw"      # "adamw" | "sgd"
    lr: float = 1e-3
    weight_decay: float = 5e-4
    momentum: float = 0.9
    nesterov: bool = True
    lr_steps: tuple[int, ...] = ()
    lr_decay: float = 0.1
    epochs: int = 12
    batch_size: int = 64
    eval_batch_size: int = 256
    amp: bool = True              # bfloat16 autocast on CUDA only


def _sources_needed(cfg: Config) -> tuple[str, ...]:
    wanted = ["names", "templates"]
    for s in (cfg.context_source, cfg.action_source):
        if s != "context_prompts" and s not in wanted:
            wanted.append(s)
    if cfg.kpd and cfg.kpd_prior == "part_descriptions":
        wanted += [f"part_{p}" for p in BODY_PARTS]
    return tuple(wanted)


class SkeletonContext(Method):
    name = "skeletoncontext"
    # 1.1: descriptions as action semantics, fuse weight 0.3 (validation-tuned), oracle in percent;
    # 1.2: fuse weight 0.1 (validation grid extended below 0.3)
    version = "1.2"
    paper = _PAPER
    Config = Config
    # Class-level: the sources every dataset has. Instances declare what their config needs.
    requires = Requirements(features=False, maps=True, text_sources=("names", "templates"), masked_lm=True)
    DATASET_DEFAULTS = {"ntu60": _PAPER_SCHEDULE, "ntu120": _PAPER_SCHEDULE, "pku_mmd1": _PAPER_SCHEDULE}

    def __init__(self, config, **kw):
        super().__init__(config, **kw)
        self.requires = Requirements(features=False, maps=True, text_sources=_sources_needed(config),
                                     masked_lm=config.context_prompt)
        self.net = self.mlm = None
        self.train_prompt_texts: list[str] = []  # what the masked LM saw (for audits/tests)

    # -- semantics ------------------------------------------------------------------------------
    def _pack(self, dataset: str):
        from zssar.text.context import load_pack, synthetic_pack
        if self.config.context_pack:
            return load_pack(self.config.context_pack)
        if dataset == "synthetic":
            return None  # derived per class list (synthetic_pack)
        try:
            return load_pack(dataset)
        except FileNotFoundError:
            return None

    def _contexts(self, text: ClassText, warn: bool = True):
        """Context records for text's classes, and the names that fell back to a neutral record."""
        from zssar.text.context import context_from_name, synthetic_pack
        pack = self._pack(text.dataset)
        if pack is None and text.dataset == "synthetic" and not self.config.context_pack:
            pack = synthetic_pack(text.names)
            fell = [n for n, c in zip(text.names, pack.classes) if c.variants[0]["object"] == "no object"
                    and c.variants[0]["target"] == "the surroundings"]
            return list(pack.classes), fell, pack.describe()
        if pack is None:
            if warn:
                self.log.warning("no context pack for dataset %r: neutral contexts from class names "
                                 "(pass --set skeletoncontext.context_pack=PATH)", text.dataset)
            return [context_from_name(n) for n in text.names], list(text.names), None
        found, missing = pack.lookup(text.names)
        if missing:
            raise ValueError(f"context pack {pack.source} has no entry for classes {missing[:5]}"
                             f"{' ...' if len(missing) > 5 else ''} of dataset {text.dataset!r}; pass a pack "
                             f"listing the dataset's class names with --set skeletoncontext.context_pack=PATH")
        return found, [], pack.describe()

    def identity_text(self, dataset: str, class_names: list[str]) -> dict:
        """The context records of every class (pack text, derived synthetic records or neutral
        fallbacks) and the masked LM actually loaded: read by this method, not a text source or a
        config value, so hashed into the run key here."""
        names = list(class_names)
        contexts, _, _ = self._contexts(ClassText(list(range(len(names))), names, {}, None, dataset=dataset),
                                        warn=False)
        out = {"contexts": [{"name": c.name, "parts": list(c.parts), "variants": [dict(v) for v in c.variants]}
                            for c in contexts]}
        if self.config.context_prompt and self.config.masked_lm != "tiny-random":
            from methods.skeletoncontext.mlm import masked_lm_available
            # which masked LM a run gets depends on the machine's cache: the fallback is another model
            out["masked_lm"] = self.config.masked_lm if masked_lm_available(self.config.masked_lm) \
                else "minilm (fallback)"
        return out

    def _class_embeddings(self, text: ClassText, source: str, contexts) -> tuple["torch.Tensor", str]:
        """(C, K, D) embeddings of `source` for text's classes, falling back to templates/names."""
        import torch
        from zssar.text.context import class_prompts
        if source == "context_prompts":
            sents = class_prompts(contexts, self._full_template())
            k = max(len(s) for s in sents)
            try:
                flat = [s[i % len(s)] for s in sents for i in range(k)]
                return text.encoder.encode(flat).reshape(len(sents), k, -1).float(), source
            except ValueError as e:  # e.g. the `precomputed` encoder cannot embed new text
                self.log.warning("cannot embed context prompts (%s); falling back", e)
        for s in (source, "templates", "names", *text.precomputed, *text.sentences):
            if s in text.precomputed or s in text.sentences:
                try:
                    emb = text.embed(s)
                except ValueError:
                    continue
                if s != source:
                    self.log.warning("text source %r unavailable: using %r", source, s)
                return torch.as_tensor(emb).float(), s
        raise KeyError(f"skeletoncontext: no usable text source (wanted {source!r})")

    def _full_template(self) -> str:
        return self.config.prompt_template

    def _template_slots(self) -> list[str]:
        fields = [f for _, f, _, _ in string.Formatter().parse(self.config.prompt_template) if f]
        bad = sorted(set(fields) - set(SLOTS))
        if bad:
            raise ValueError(f"skeletoncontext.prompt_template: unknown slots {bad}; allowed {list(SLOTS)}")
        return fields

    def _part_prior(self, text: ClassText, contexts, layout, joints: int):
        """(C, V) key-part prior and how it was built (None when no layout is known)."""
        from methods.skeletoncontext.model import joint_prior, part_is_active
        if layout is None:
            return None, "none (unknown joint layout)"
        sources = [f"part_{p}" for p in BODY_PARTS]
        if self.config.kpd_prior == "part_descriptions" and all(s in text.sentences for s in sources):
            active = [[p for p, s in zip(BODY_PARTS, sources) if any(part_is_active(x) for x in text.sentences[s][c])]
                      for c in range(len(text))]
            how = "part descriptions (part_* sources; parts not described as still/idle)"
        else:
            if self.config.kpd_prior == "part_descriptions":
                self.log.warning("part_* text sources not loaded: key-part prior from the context pack")
            active = [list(c.parts) for c in contexts]
            how = "context pack `parts`"
        return joint_prior(active, layout.parts, joints), how

    @staticmethod
    def _layout(layout, joints: int):
        from zssar.data.layouts import KINECT_V1_20, NTU25
        if layout is not None and layout.num_joints == joints:
            return layout
        return {25: NTU25, 20: KINECT_V1_20}.get(joints)

    # -- prompts --------------------------------------------------------------------------------
    def _train_prompts(self, contexts, n_masked: int):
        """Every (class, variant, masked-slot subset) prompt; per class the list of its rows."""
        slots = [s for s in self.config.masked_slots if s in self._template_slots()]
        subsets = list(itertools.combinations(slots, min(n_masked, len(slots)))) or [()]
        variants, masks, rows_of = [], [], []
        for c in contexts:
            rows = []
            for v in c.variants:
                for subset in subsets:
                    rows.append(len(variants))
                    variants.append(v)
                    masks.append(subset)
            rows_of.append(rows)
        from zssar.text.context import fill
        self.train_prompt_texts = sorted({fill(self._full_template(), v) for v in variants})
        return self.mlm.build_prompts(self._full_template(), variants, masks), rows_of

    # -- training -------------------------------------------------------------------------------
    def fit(self, train: MethodData, seen_text: ClassText, all_text: ClassText | None = None) -> dict:
        import torch
        import torch.nn.functional as F
        from tqdm import tqdm

        from methods.skeletoncontext.mlm import IGNORE, load_masked_lm, tiny_masked_lm
        from methods.skeletoncontext.model import (SkeletonContextNet, class_scores, kpd_loss,
                                                   masked_slot_count, ppm_ratio)
        cfg = self.config
        if train.maps is None:
            raise ValueError("skeletoncontext needs the backbone maps (requires.maps=True)")
        if cfg.test_prompt not in ("masked", "candidates"):
            raise ValueError(f"skeletoncontext.test_prompt must be 'masked' or 'candidates', got {cfg.test_prompt!r}")
        self._template_slots()
        dev = torch.device(self.device)
        gen = torch.Generator().manual_seed(self.seed)
        maps = train.maps.float()
        n, _, joints, channels = maps.shape
        cols = seen_text.column_of(train.labels).long()

        contexts, fell_back, pack_info = self._contexts(seen_text)
        ctx_text, self.context_source_used = self._class_embeddings(seen_text, cfg.context_source, contexts)
        act_text, self.action_source_used = self._class_embeddings(seen_text, cfg.action_source, contexts)
        ctx_text, act_text = ctx_text.to(dev), act_text.to(dev)
        self.layout = self._layout(train.layout, joints)
        prior, prior_how = self._part_prior(seen_text, contexts, self.layout, joints) if cfg.kpd else (None, "off")

        self.mlm = None
        if cfg.context_prompt:
            self.mlm = tiny_masked_lm() if cfg.masked_lm == "tiny-random" else \
                load_masked_lm(cfg.masked_lm, freeze_body=cfg.freeze_lm_body)
            self.mlm.to(dev)
        lm_hidden = self.mlm.hidden if self.mlm is not None else 256
        torch.manual_seed(self.seed)
        self.net = SkeletonContextNet(
            channels=channels, joints=joints, context_dim=ctx_text.shape[-1], part_dim=act_text.shape[-1],
            lm_hidden=lm_hidden, dje=cfg.dje, context_prompt=cfg.context_prompt, kpd=cfg.kpd,
            layers=cfg.xattn_layers, heads=cfg.xattn_heads, kpd_hidden=cfg.kpd_hidden,
            proj_hidden=cfg.proj_hidden, dropout=cfg.dropout).to(dev)
        params = list(self.net.parameters())
        if self.mlm is not None:
            params += [p for p in self.mlm.parameters() if p.requires_grad]
        if cfg.optimizer == "sgd":
            opt = torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov,
                                  weight_decay=cfg.weight_decay)
        elif cfg.optimizer == "adamw":
            opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
        else:
            raise ValueError(f"skeletoncontext.optimizer must be 'sgd' or 'adamw', got {cfg.optimizer!r}")

        ramp = max(1, round(cfg.ppm_ramp * cfg.epochs))
        n_slots = len([s for s in cfg.masked_slots if s in self._template_slots()])
        cache: dict[int, tuple] = {}
        history = []
        amp = cfg.amp and dev.type == "cuda"
        self.net.train()
        if self.mlm is not None:
            self.mlm.train()
        for epoch in tqdm(range(cfg.epochs), desc="skeletoncontext", leave=False):
            lr = cfg.lr * cfg.lr_decay ** sum(epoch >= s for s in cfg.lr_steps)
            for group in opt.param_groups:
                group["lr"] = lr
            prompts = None
            if self.mlm is not None:
                ratio = ppm_ratio(epoch, ramp) if cfg.ppm else 1.0
                k = masked_slot_count(ratio, max(1, n_slots))
                if k not in cache:  # prompts (and frozen-body states) change only when k changes
                    batch, rows_of = self._train_prompts(contexts, k)
                    states = self.mlm.encode(batch.input_ids, batch.attention_mask) if cfg.freeze_lm_body else None
                    if cfg.mlm_vocab == "prompts":  # every word piece of the (seen-class) training prompts
                        vocab = torch.unique(torch.cat([batch.input_ids[batch.attention_mask.bool()],
                                                        batch.labels[batch.labels != IGNORE]]))
                    elif cfg.mlm_vocab == "full":
                        vocab = None
                    else:
                        raise ValueError(f"skeletoncontext.mlm_vocab must be 'full' or 'prompts', got {cfg.mlm_vocab!r}")
                    cache[k] = (batch, rows_of, states, vocab)
                prompts = cache[k]
            sums = {"loss": 0.0, "align": 0.0, "ccr": 0.0, "kpd": 0.0, "ccr_acc": 0.0}
            steps = 0
            perm = torch.randperm(n, generator=gen)
            for start in range(0, n, cfg.batch_size):
                idx = perm[start:start + cfg.batch_size]
                m, y = maps[idx].to(dev), cols[idx].to(dev)
                with torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp):
                    tokens = self.net.skeleton_tokens(m)
                    l_ccr = torch.zeros((), device=dev)
                    acc = float("nan")
                    if prompts is not None:
                        batch, rows_of, states, vocab = prompts
                        # each sample gets a prompt of ITS class (upstream draws a random class: a bug)
                        pick = torch.tensor([rows_of[c][int(torch.randint(len(rows_of[c]), (1,), generator=gen))]
                                             for c in y.tolist()])
                        text = states[pick.to(states.device)] if states is not None else \
                            self.mlm.encode(batch.input_ids[pick], batch.attention_mask[pick])
                        pad = batch.attention_mask[pick].to(dev) == 0
                        ctx_emb, text_out = self.net.context_branch(tokens, text.to(dev), pad)
                        l_ccr, acc_t = self.mlm.reconstruction(text_out.float(), batch.labels[pick].to(dev), vocab)
                        acc = float(acc_t)
                    else:
                        ctx_emb, _ = self.net.context_branch(tokens)
                    part_emb, importance = self.net.part_branch(m)
                    l_align = F.cross_entropy(class_scores(ctx_emb.float(), ctx_text) / cfg.temperature, y) + \
                        F.cross_entropy(class_scores(part_emb.float(), act_text) / cfg.temperature, y)
                    l_kpd = kpd_loss(importance.float(), prior.to(dev)[y]) \
                        if importance is not None and prior is not None else torch.zeros((), device=dev)
                    loss = l_align + cfg.ccr_weight * l_ccr + cfg.kpd_weight * l_kpd
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                steps += 1
                for key, val in (("loss", loss), ("align", l_align), ("ccr", l_ccr), ("kpd", l_kpd)):
                    sums[key] += float(val.detach())
                sums["ccr_acc"] += acc if not math.isnan(acc) else 0.0
            history.append({k: round(v / max(1, steps), 5) for k, v in sums.items()})
            history[-1]["masked_slots"] = k if self.mlm is not None else 0
        self.net.eval()
        if self.mlm is not None:
            self.mlm.eval()
        return {
            "masked_lm": self.mlm.describe() if self.mlm is not None else None,
            "context_pack": pack_info,
            "context_fallback_classes": fell_back,
            "context_source_used": self.context_source_used,
            "action_source_used": self.action_source_used,
            "kpd_prior": prior_how,
            "layout": self.layout.name if self.layout is not None else None,
            "epochs": history,
        }

    # -- inference ------------------------------------------------------------------------------
    def predict(self, test: MethodData, candidates: ClassText) -> Prediction:
        import torch
        from methods.skeletoncontext.model import class_scores
        if self.net is None:
            raise RuntimeError("skeletoncontext: predict() before fit()")
        cfg = self.config
        dev = torch.device(self.device)
        contexts, _, _ = self._contexts(candidates)
        ctx_text = self._embed_as_trained(candidates, self.context_source_used, contexts).to(dev)
        act_text = self._embed_as_trained(candidates, self.action_source_used, contexts).to(dev)
        maps = test.maps.float()
        amp = cfg.amp and dev.type == "cuda"
        prompt_states = None
        if self.mlm is not None:
            if cfg.test_prompt == "masked":
                unknown = {s: None for s in self._template_slots()}
                batch = self.mlm.build_prompts(cfg.prompt_template, [unknown], [()])
            else:
                batch = self.mlm.build_prompts(cfg.prompt_template, [c.variants[0] for c in contexts],
                                               [() for _ in contexts])
            with torch.no_grad():
                prompt_states = (self.mlm.encode(batch.input_ids, batch.attention_mask).to(dev),
                                 batch.attention_mask.to(dev) == 0)
        ctx_scores, part_scores = [], []
        with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp):
            for start in range(0, len(maps), cfg.eval_batch_size):
                m = maps[start:start + cfg.eval_batch_size].to(dev)
                tokens = self.net.skeleton_tokens(m)
                if prompt_states is None:
                    ctx_scores.append(class_scores(self.net.context_branch(tokens)[0].float(), ctx_text))
                elif cfg.test_prompt == "masked":
                    states, pad = prompt_states
                    emb, _ = self.net.context_branch(tokens, states.expand(len(m), -1, -1), pad.expand(len(m), -1))
                    ctx_scores.append(class_scores(emb.float(), ctx_text))
                else:  # one pass per candidate: the sample's embedding given that class's context
                    states, pad = prompt_states
                    per_class = []
                    for c in range(len(contexts)):
                        emb, _ = self.net.context_branch(tokens, states[c:c + 1].expand(len(m), -1, -1),
                                                         pad[c:c + 1].expand(len(m), -1))
                        per_class.append(class_scores(emb.float(), ctx_text[c:c + 1])[:, 0])
                    ctx_scores.append(torch.stack(per_class, 1))
                part_scores.append(class_scores(self.net.part_branch(m)[0].float(), act_text))
        s_ctx = torch.cat(ctx_scores).cpu().numpy().astype(np.float32)
        s_part = torch.cat(part_scores).cpu().numpy().astype(np.float32)
        fused = cfg.fuse_weight * s_ctx + (1.0 - cfg.fuse_weight) * s_part
        return Prediction(scores=fused, heads={"context": s_ctx, "part": s_part})

    def _embed_as_trained(self, text: ClassText, source: str, contexts):
        emb, used = self._class_embeddings(text, source, contexts)
        if used != source:
            raise ValueError(f"skeletoncontext: text source {source!r} used in training is not available "
                             f"for the candidate classes (got {used!r})")
        return emb

    def extra_metrics(self, pred: Prediction, labels: np.ndarray, candidates: ClassText) -> dict[str, float]:
        """Neuron-style rule (a sample counts if either branch ranks it first): an upper bound, not a headline."""
        if not {"context", "part"} <= set(pred.heads) or len(labels) == 0:
            return {}
        labels = np.asarray(labels)
        either = (pred.heads["context"].argmax(1) == labels) | (pred.heads["part"].argmax(1) == labels)
        return {"oracle_either_head_top1": 100.0 * float(either.mean())}  # percent, like every metric
