"""`zssar backbone`: pre-train seen-only backbones, extract cached features, import upstream weights.

    zssar backbone train   --dataset D --split S [--protocol P] [--arch shiftgcn|stgcn] [--epochs N]
                           [--device auto|cpu|cuda] [--set key=value ...]
    zssar backbone extract --dataset D --split S [...] [--maps] [--checkpoint PATH]
    zssar backbone import  --upstream FILE.pt --dataset D --split S --out PATH

`train` and `extract` go through the same cache as `zssar bench`, so a later benchmark run
on the split does no backbone work. A split family trains one backbone per member.
"""
from __future__ import annotations

import argparse
import json


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", default="synthetic", help="dataset name or prepared folder (default: synthetic)")
    p.add_argument("--split", default=None, help="split name, family, FAMILY/MEMBER or YAML path "
                                                 "(default: the dataset's default split)")
    p.add_argument("--protocol", default=None, help="evaluation protocol whose training partition is used")
    p.add_argument("--arch", default=None, choices=("shiftgcn", "stgcn"), help="backbone (default: shiftgcn)")
    p.add_argument("--epochs", type=int, default=None, help="pre-training epochs (default: per dataset)")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    p.add_argument("--set", dest="sets", action="append", metavar="KEY=VALUE",
                   help="override a backbone config value (repeatable), e.g. --set width=32")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("backbone", help="pre-train backbones on seen classes, extract cached features",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    t = actions.add_parser("train", help="pre-train (or reuse) the seen-only backbone of a split")
    _common(t)
    t.set_defaults(func=run_train)
    e = actions.add_parser("extract", help="pre-train if needed, then extract and cache per-sample features")
    _common(e)
    e.add_argument("--maps", action="store_true", help="also store the (T', V, C) maps (Neuron, SkeletonContext, SCoPLe)")
    e.add_argument("--checkpoint", default=None, help="use this zssar checkpoint instead of pre-training")
    e.set_defaults(func=run_extract)
    i = actions.add_parser("import", help="convert an upstream Shift-GCN .pt (Neuron/STAR release) to a zssar checkpoint")
    i.add_argument("--upstream", required=True, help="the upstream .pt state dict")
    i.add_argument("--dataset", required=True, help="dataset the weights were trained on")
    i.add_argument("--split", required=True, help="split whose seen classes the weights were trained on")
    i.add_argument("--out", required=True, help="where to write the zssar checkpoint")
    i.set_defaults(func=run_import)


def _setup(args):
    from zssar.backbones.config import backbone_config
    from zssar.bench import resolve_splits
    from zssar.commands.bench import parse_sets
    from zssar.data.registry import load_dataset, partition

    overrides = parse_sets(args.sets, "--set")
    if args.arch:
        overrides["arch"] = args.arch
    if args.epochs is not None:
        overrides["epochs"] = str(args.epochs)
    if getattr(args, "checkpoint", None):
        overrides["checkpoint"] = args.checkpoint
    ds = load_dataset(args.dataset)
    cfg = backbone_config(ds.name, overrides)
    train_mask, _ = partition(ds, args.protocol)
    splits = resolve_splits(ds.name, args.split)
    for split in splits:
        if split.num_classes != ds.num_classes:
            raise ValueError(f"{split.source}: split {split.name} has {split.num_classes} classes, "
                             f"dataset {ds.name} has {ds.num_classes}")
    return ds, cfg, train_mask, splits


def run_train(args) -> int:
    from zssar.backbones.checkpoint import load_checkpoint
    from zssar.backbones.features import checkpoint_dir, data_fingerprint, partition_fingerprint
    from zssar.backbones.train import pretrain

    ds, cfg, train_mask, splits = _setup(args)
    data_sha, part_sha = data_fingerprint(ds), partition_fingerprint(ds, train_mask)
    for split in splits:
        path = pretrain(ds, train_mask, split.seen, cfg, checkpoint_dir(ds, train_mask, split.seen, cfg, data_sha),
                        device=args.device, extra_meta={"data_sha256": data_sha, "train_partition_sha256": part_sha})
        meta, _ = load_checkpoint(path)
        val = meta.get("val_acc")
        print(f"{split.name}: {path}  ({meta['arch']}, {len(meta['trained_on_seen'])} seen classes, "
              f"{meta['epochs_done']} epochs, seen-val acc {'n/a' if val is None else f'{val:.1f}%'})")
    return 0


def run_extract(args) -> int:
    from zssar.backbones.features import get_features

    ds, cfg, train_mask, splits = _setup(args)
    for split in splits:
        f = get_features(ds, train_mask, split.seen, cfg=cfg, device=args.device, need_maps=args.maps)
        maps = "none" if f.maps is None else f"{tuple(f.maps.shape)} {f.maps.dtype}"
        print(f"{split.name}: pooled {tuple(f.pooled.shape)}, maps {maps}, "
              f"{'cache hit' if f.info['cache_hit'] else 'extracted'} in {f.info['seconds']:.1f}s -> {f.info['cache_dir']}")
    return 0


def run_import(args) -> int:
    from zssar.backbones.checkpoint import import_upstream
    from zssar.data.registry import load_dataset
    from zssar.splits import load_split

    ds = load_dataset(args.dataset)
    split = load_split(args.split)
    sha, meta = import_upstream(args.upstream, args.out, trained_on_seen=split.seen, dataset=ds.name,
                                layout=ds.layout)
    print(json.dumps({"checkpoint": args.out, "sha256": sha, "trained_on_seen": len(meta["trained_on_seen"]),
                      "width": meta["config"]["width"], "num_blocks": meta["config"]["num_blocks"]}))
    print(f"use it with: zssar backbone extract --dataset {ds.name} --split {args.split} --checkpoint {args.out}")
    return 0
