"""How many class pairs share (near-)identical text, per source, on the synthetic dataset.

    python benchmarks/synthetic_text_overlap.py [--threshold 0.999]

Embeds every text source with the offline MiniLM encoder (class sentences averaged, as the
methods do), counts class pairs whose cosine exceeds the threshold, and — per member of the
`synthetic_default` family — how many pairs of its unseen classes are indistinguishable
through each source. A source with such pairs caps any method that reads only that source.
"""
from __future__ import annotations

import argparse
import itertools

SOURCES = ("names", "descriptions", "spatial_fine", "temporal_1", "temporal_2", "temporal_3")
TEMPORAL = ("temporal_1", "temporal_2", "temporal_3")


def main(argv=None) -> int:
    import torch
    import torch.nn.functional as F
    from tabulate import tabulate

    from zssar.data.registry import load_dataset
    from zssar.splits import resolve
    from zssar.text.encoders import get_encoder
    from zssar.text.packs import class_text

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threshold", type=float, default=0.999)
    args = p.parse_args(argv)
    ds = load_dataset("synthetic")
    text = class_text("synthetic", ds.class_names, range(ds.num_classes), SOURCES, get_encoder("minilm"))
    means = {s: text.embed(s).float().mean(1) for s in SOURCES}
    # the cumulative phase-3 text Neuron aligns its whole-clip temporal feature with
    means["temporal_cumulative_3"] = sum(means[s] for s in TEMPORAL) / 3
    # SkeletonContext's filled context prompts (one per class; its context branch's class text)
    from zssar.text.context import class_prompts, synthetic_pack
    means["context_prompts"] = torch.stack([text.encoder.encode(p).float().mean(0)
                                            for p in class_prompts(synthetic_pack(ds.class_names).classes)])
    splits = resolve("synthetic_default")
    rows = []
    for source, emb in means.items():
        e = F.normalize(emb, dim=-1)
        cos = e @ e.T
        same = {(i, j) for i, j in itertools.combinations(range(len(cos)), 2) if cos[i, j] > args.threshold}
        per_split = [sum((i, j) in same for i, j in itertools.combinations(sorted(s.unseen), 2)) for s in splits]
        rows.append([source, len(same), " ".join(map(str, per_split))])
    print(f"class pairs with cosine > {args.threshold} (MiniLM, {ds.num_classes} classes); last column: "
          f"unseen pairs per synthetic_default member s01..s{len(splits):02d}")
    print(tabulate(rows, headers=["source", "identical pairs", "identical unseen pairs per split"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
