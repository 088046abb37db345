"""Backbone speed, memory, FLOPs and feature-cache benchmark.

    python benchmarks/perf/backbone.py                 # everything (a few minutes on 2 cores)
    python benchmarks/perf/backbone.py --skip-cache --steps 2 --threads 1
    python benchmarks/perf/backbone.py --archs shiftgcn --skip-cache --sweep   # + inference variants
    python benchmarks/perf/backbone.py --archs shiftgcn,shiftgcn-bf16 --skip-cache   # float32 vs bf16 autocast
    python benchmarks/perf/backbone.py --archs shiftgcn --skip-cache --parity  # + bf16 accuracy parity
    git show HEAD:zssar/backbones/shiftgcn.py > /tmp/shiftgcn_head.py          # before/after a change:
    python benchmarks/perf/backbone.py --archs shiftgcn,file:/tmp/shiftgcn_head.py --no-reference --skip-cache

For Shift-GCN and ST-GCN at the upstream size (width 64, 10 blocks) and input
(N, 3, T=64, V=25, M=2) it prints:
- train samples/s: SGD (Nesterov) step at batch 32, forward + backward + update;
- inference samples/s: `extract` at batch 128 in eval mode under `torch.inference_mode`;
- peak RSS of each configuration, measured in its own subprocess (ru_maxrss);
- GFLOPs per sample (torch.utils.flop_counter), forward and train step (fwd + bwd);
- the same measurements, in the same run, for an upstream-style Shift-GCN
  (`upstream_style_shiftgcn.py`: upstream's (N*M, C, T, V) modules with the temporal shift
  as per-step index gathers) and the ratios ours / reference, next to the issue's anchor;
- with `--sweep`: Shift-GCN inference with micro-batching and BN folding switched on and
  off, and several micro-batch sizes (what each inference optimisation buys), in float32
  and under CPU bfloat16 autocast;
- `ARCH-bf16` archs (e.g. `--archs shiftgcn,shiftgcn-bf16`): the same backbone under CPU
  bfloat16 autocast (what `--backbone-set cpu_amp=bf16` runs), with its ratios to float32
  from the same run;
- with `--parity`: seen-class validation accuracy of the synthetic backbone pre-trained in
  float32 and in bf16 with the same seed (default synthetic config), epoch by epoch;
and the feature cache's effect: two `get_features` calls on the synthetic dataset in an
empty temporary cache (the first pre-trains and extracts, the second is what a second
method on the same split pays).

The machine may be shared: every configuration runs in a fresh subprocess, the figure is
the median of `--steps` timed steps after one warm-up, and the load average is printed.

Reference anchor (issue 4): upstream Neuron Shift-GCN with gather-based shift on this kind
of machine: 6 train samples/s, 22.6 inference samples/s, 9.9 GB peak RSS.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

ANCHOR = {"train_sps": 6.0, "infer_sps": 22.6, "peak_rss_gb": 9.9}
SHAPE = dict(t=64, v=25, m=2)


REFERENCE = "shiftgcn-upstream-style"


def _model(arch: str, num_classes: int = 55, **kwargs):
    if arch.startswith("file:"):  # another version of shiftgcn.py, e.g. `git show HEAD:...` (before/after)
        import importlib.util
        spec = importlib.util.spec_from_file_location("shiftgcn_other", arch[len("file:"):])
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module.ShiftGCN(num_classes, SHAPE["v"], SHAPE["m"], **kwargs)
    if arch == REFERENCE:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from upstream_style_shiftgcn import UpstreamStyleShiftGCN
        return UpstreamStyleShiftGCN(num_classes, SHAPE["v"], SHAPE["m"])
    if arch == "shiftgcn" and kwargs:  # inference variants (--sweep)
        from zssar.backbones.shiftgcn import ShiftGCN
        return ShiftGCN(num_classes, SHAPE["v"], SHAPE["m"], **kwargs)
    from zssar.backbones.config import BackboneConfig, build_model
    from zssar.data.layouts import NTU25
    return build_model(BackboneConfig(arch=arch), num_classes, NTU25, SHAPE["m"])


BF16 = "-bf16"  # arch suffix: the same backbone under CPU bfloat16 autocast (backbone.cpu_amp=bf16)


def _autocast(arch: str, kwargs: dict):
    """(arch without the suffix, autocast context): bf16 rows run the plain model inside
    torch.autocast("cpu", bfloat16), as training and extraction do with cpu_amp=bf16."""
    import contextlib

    from zssar.backbones.config import BackboneConfig, autocast
    amp = arch.endswith(BF16) or kwargs.pop("cpu_amp", "off") == "bf16"
    # bf16: the very context training/extraction enter; float32 rows run without any
    # autocast context, exactly as before bf16 rows existed
    ctx = autocast(BackboneConfig(cpu_amp="bf16"), "cpu") if amp else contextlib.nullcontext()
    return arch.removesuffix(BF16), ctx


def child(mode: str, arch: str, batch: int, steps: int, threads: int, kwargs: dict | None = None) -> dict:
    """One configuration, run inside a fresh process so ru_maxrss is its own peak."""
    import torch
    if threads > 0:
        torch.set_num_threads(threads)
    torch.manual_seed(0)
    label, kwargs = arch, dict(kwargs or {})
    arch, autocast = _autocast(arch, kwargs)
    model = _model(arch, **kwargs)
    x = torch.randn(batch, 3, SHAPE["t"], SHAPE["v"], SHAPE["m"])
    times = []
    if mode == "train":
        model.train()
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)
        y = torch.randint(0, 55, (batch,))
        for i in range(steps + 1):  # first step warms up allocators and kernels
            t0 = time.perf_counter()
            opt.zero_grad(set_to_none=True)
            with autocast:  # forward and loss only, as in zssar/backbones/train.py
                loss = torch.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            del loss
            opt.step()
            times.append(time.perf_counter() - t0)
    else:
        model.eval()
        with torch.inference_mode(), autocast:
            for i in range(steps + 1):
                t0 = time.perf_counter()
                model.extract(x)
                times.append(time.perf_counter() - t0)
    per_step = sorted(times[1:])[len(times[1:]) // 2]  # median: robust to a noisy neighbour
    return {"mode": mode, "arch": label, "batch": batch, "step_s": per_step, "samples_per_s": batch / per_step,
            "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6, "threads": torch.get_num_threads()}


def flops_per_sample(arch: str) -> dict:
    import torch
    from torch.utils.flop_counter import FlopCounterMode
    model = _model(arch.removesuffix(BF16))  # counted in float32: autocast does not change FLOPs
    x = torch.randn(2, 3, SHAPE["t"], SHAPE["v"], SHAPE["m"])
    with FlopCounterMode(display=False) as fwd:
        with torch.no_grad():
            model(x)
    with FlopCounterMode(display=False) as step:
        model(x).sum().backward()
    return {"fwd_gflops": fwd.get_total_flops() / 2 / 1e9, "train_gflops": step.get_total_flops() / 2 / 1e9,
            "params_m": sum(p.numel() for p in model.parameters()) / 1e6}


def run_child(mode, arch, batch, steps, threads, kwargs=None) -> dict:
    cmd = [sys.executable, __file__, "--child", mode, arch, str(batch), str(steps), str(threads),
           json.dumps(kwargs or {})]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def load() -> str:
    return "load average " + " / ".join(f"{a:.1f}" for a in os.getloadavg()) + f" (1/5/15 min) on {os.cpu_count()} CPUs"


SWEEP = [  # (label, ShiftGCN kwargs): inference optimisations off/on, micro-batch sizes
    ("no micro-batching, no BN folding", {"eval_chunk": 0, "fold_bn": False}),
    ("BN folding only", {"eval_chunk": 0, "fold_bn": True}),
    ("micro-batches of 16 only", {"eval_chunk": 16, "fold_bn": False}),
    ("micro-batches of 8 + folding", {"eval_chunk": 8, "fold_bn": True}),
    ("micro-batches of 16 + folding (default)", {"eval_chunk": 16, "fold_bn": True}),
    ("micro-batches of 32 + folding", {"eval_chunk": 32, "fold_bn": True}),
    ("bf16 autocast, no micro-batching, no BN folding", {"eval_chunk": 0, "fold_bn": False, "cpu_amp": "bf16"}),
    ("bf16 autocast, micro-batches of 16 + folding", {"eval_chunk": 16, "fold_bn": True, "cpu_amp": "bf16"}),
    ("bf16 autocast, micro-batches of 32 + folding", {"eval_chunk": 32, "fold_bn": True, "cpu_amp": "bf16"}),
]


def sweep(steps: int, threads: int) -> None:
    from tabulate import tabulate
    rows = []
    for label, kwargs in SWEEP:
        r = run_child("infer", "shiftgcn", 128, steps, threads, kwargs)
        rows.append([label, f"{r['samples_per_s']:.1f}", f"{r['peak_rss_gb']:.2f}"])
    print(f"\nShift-GCN inference variants, batch 128, threads {r['threads']}, {load()} at the end")
    print(tabulate(rows, headers=["variant", "infer samples/s", "peak RSS GB"]))


def parity(threads: int, seed: int = 0) -> dict:
    """Seen-class validation accuracy per epoch of the default synthetic backbone, pre-trained
    in float32 and with cpu_amp=bf16 from the same seed (same data order and initial weights)."""
    import dataclasses
    os.environ.setdefault("TQDM_DISABLE", "1")
    from zssar.backbones import backbone_config, load_checkpoint
    from zssar.backbones.train import pretrain
    from zssar.data.registry import load_dataset, partition
    from zssar.splits import resolve
    ds = load_dataset("synthetic")
    train, _ = partition(ds, None)
    split = resolve("synthetic_default")[0]
    cfg = backbone_config("synthetic", {"num_threads": str(threads)} if threads > 0 else None)
    cfg = dataclasses.replace(cfg, seed=seed)
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for mode in ("off", "bf16"):
            t0 = time.perf_counter()
            meta, _ = load_checkpoint(pretrain(ds, train, split.seen, dataclasses.replace(cfg, cpu_amp=mode),
                                               os.path.join(tmp, mode), device="cpu"))
            out[mode] = {"val_acc": [h["val_acc"] for h in meta["history"]], "seconds": time.perf_counter() - t0,
                         "num_val": meta["num_val"]}
    return out


def cache_effect(threads: int) -> dict:
    """Seconds of the first and second `get_features` on synthetic, in an empty cache."""
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["ZSSAR_CACHE"] = tmp
        os.environ.setdefault("TQDM_DISABLE", "1")
        from zssar.backbones import backbone_config, get_features
        from zssar.data.registry import load_dataset, partition
        from zssar.splits import resolve
        ds = load_dataset("synthetic")
        train, _ = partition(ds, None)
        split = resolve("synthetic_default")[0]
        cfg = backbone_config("synthetic", {"num_threads": str(threads)} if threads > 0 else None)
        t0 = time.perf_counter()
        first = get_features(ds, train, split.seen, cfg=cfg, need_maps=True)
        t1 = time.perf_counter()
        second = get_features(ds, train, split.seen, cfg=cfg, need_maps=True)
        t2 = time.perf_counter()
        return {"samples": len(ds), "first_s": t1 - t0, "second_s": t2 - t1, "second_cache_hit": second.info["cache_hit"],
                "seen_val_acc": first.info["val_acc"], "pooled": list(first.pooled.shape), "maps": list(first.maps.shape)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=3, help="measured steps per configuration (after 1 warm-up)")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch default)")
    p.add_argument("--archs", default="shiftgcn,stgcn",
                   help="comma-separated: shiftgcn, stgcn, or file:PATH (a ShiftGCN from another shiftgcn.py); "
                        "append -bf16 (shiftgcn-bf16) for the same model under CPU bfloat16 autocast")
    p.add_argument("--skip-cache", action="store_true", help="skip the synthetic feature-cache timing")
    p.add_argument("--no-reference", action="store_true", help="skip the upstream-style Shift-GCN reference")
    p.add_argument("--sweep", action="store_true", help="also time Shift-GCN inference variants")
    p.add_argument("--parity", action="store_true",
                   help="also pre-train the synthetic backbone in float32 and bf16 (same seed), print seen-val accuracy")
    p.add_argument("--parity-seeds", type=int, default=1, help="--parity for seeds 0..N-1 (default 1)")
    p.add_argument("--child", nargs=6, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        mode, arch, batch, steps, threads, kwargs = args.child
        print(json.dumps(child(mode, arch, int(batch), int(steps), int(threads), json.loads(kwargs))))
        return 0
    from tabulate import tabulate
    print(f"start: {load()}")
    archs = [a for a in args.archs.split(",") if a]  # --archs "": no timing table (e.g. --parity alone)
    if not args.no_reference and "shiftgcn" in archs:
        archs.append(REFERENCE)
    rows, results = [], {}
    for arch in archs:
        fl = flops_per_sample(arch)
        train = run_child("train", arch, 32, args.steps, args.threads)
        infer = run_child("infer", arch, 128, args.steps, args.threads)
        results[arch] = (train, infer)
        rows.append([arch, f"{train['samples_per_s']:.1f}", f"{train['peak_rss_gb']:.2f}", f"{infer['samples_per_s']:.1f}",
                     f"{infer['peak_rss_gb']:.2f}", f"{fl['fwd_gflops']:.2f}", f"{fl['train_gflops']:.2f}",
                     f"{fl['params_m']:.2f}", train["threads"]])
    if rows:
        rows.append(["anchor (issue 4): upstream Shift-GCN (gathers)", ANCHOR["train_sps"], ANCHOR["peak_rss_gb"],
                     ANCHOR["infer_sps"], "", "", "", "", ""])
        print(f"input (N, 3, T={SHAPE['t']}, V={SHAPE['v']}, M={SHAPE['m']}); train batch 32, inference batch 128; "
              f"end: {load()}")
        print(tabulate(rows, headers=["backbone", "train samples/s", "train peak RSS GB", "infer samples/s",
                                      "infer peak RSS GB", "fwd GFLOPs/sample", "train GFLOPs/sample", "params M",
                                      "threads"]))
    if "shiftgcn" in results and REFERENCE in results:
        (ot, oi), (rt, ri) = results["shiftgcn"], results[REFERENCE]
        print(f"\nShift-GCN ours / upstream-style reference (same run): train samples/s "
              f"{ot['samples_per_s'] / rt['samples_per_s']:.2f}x, inference samples/s "
              f"{oi['samples_per_s'] / ri['samples_per_s']:.2f}x, train peak RSS {ot['peak_rss_gb'] / rt['peak_rss_gb']:.2f}x, "
              f"inference peak RSS {oi['peak_rss_gb'] / ri['peak_rss_gb']:.2f}x "
              f"(issue-4 target against the anchor: >= 2x samples/s, <= 0.5x RSS)")
    for arch in archs:  # bf16 autocast against float32, same run
        if arch.endswith(BF16) and arch.removesuffix(BF16) in results:
            (bt, bi), (ft, fi) = results[arch], results[arch.removesuffix(BF16)]
            print(f"\n{arch} / {arch.removesuffix(BF16)} (same run): train samples/s "
                  f"{bt['samples_per_s'] / ft['samples_per_s']:.2f}x, inference samples/s "
                  f"{bi['samples_per_s'] / fi['samples_per_s']:.2f}x, train peak RSS "
                  f"{bt['peak_rss_gb'] / ft['peak_rss_gb']:.2f}x, inference peak RSS "
                  f"{bi['peak_rss_gb'] / fi['peak_rss_gb']:.2f}x")
    if args.sweep:
        sweep(args.steps, args.threads)
    if args.parity:
        finals = {"off": [], "bf16": []}
        for seed in range(args.parity_seeds):
            r = parity(args.threads, seed)
            print(f"\naccuracy parity, synthetic backbone (default config, seed {seed}), seen-val accuracy % "
                  f"per epoch ({r['off']['num_val']} held-out samples):")
            for mode, label in (("off", "float32"), ("bf16", "bf16 autocast")):
                finals[mode].append(r[mode]["val_acc"][-1])
                print(f"  {label:>13}: " + " ".join(f"{a:.1f}" for a in r[mode]["val_acc"])
                      + f"   (final {r[mode]['val_acc'][-1]:.1f}, {r[mode]['seconds']:.1f}s)")
        if args.parity_seeds > 1:
            print("final seen-val accuracy, mean over seeds: "
                  + ", ".join(f"{label} {sum(finals[m]) / len(finals[m]):.1f}"
                              for m, label in (("off", "float32"), ("bf16", "bf16 autocast"))))
    if not args.skip_cache:
        c = cache_effect(args.threads)
        print(f"\nfeature cache on synthetic ({c['samples']} samples, pooled {c['pooled']}, maps {c['maps']}): "
              f"first get_features (pre-train + extract) {c['first_s']:.1f}s, seen-val acc {c['seen_val_acc']:.1f}%; "
              f"second (another method, same split) {c['second_s']:.2f}s, cache hit: {c['second_cache_hit']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
