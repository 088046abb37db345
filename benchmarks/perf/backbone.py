"""Backbone speed, memory, FLOPs and feature-cache benchmark.

    python benchmarks/perf/backbone.py                 # everything (a few minutes on 2 cores)
    python benchmarks/perf/backbone.py --skip-cache --steps 2

For Shift-GCN and ST-GCN at the upstream size (width 64, 10 blocks) and input
(N, 3, T=64, V=25, M=2) it prints:
- train samples/s: SGD (Nesterov) step at batch 32, forward + backward + update;
- inference samples/s: `extract` at batch 128 under `torch.inference_mode`;
- peak RSS of each configuration, measured in its own subprocess (ru_maxrss);
- GFLOPs per sample (torch.utils.flop_counter), forward and train step (fwd + bwd);
and the feature cache's effect: two `get_features` calls on the synthetic dataset in an
empty temporary cache (the first pre-trains and extracts, the second is what a second
method on the same split pays).

Reference anchor (brief): upstream Neuron Shift-GCN with gather-based shift on this kind of
machine: 6 train samples/s, 22.6 inference samples/s, 9.9 GB peak RSS.
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


def _model(arch: str, num_classes: int = 55):
    from zssar.backbones.config import BackboneConfig, build_model
    from zssar.data.layouts import NTU25
    return build_model(BackboneConfig(arch=arch), num_classes, NTU25, SHAPE["m"])


def child(mode: str, arch: str, batch: int, steps: int, threads: int) -> dict:
    """One configuration, run inside a fresh process so ru_maxrss is its own peak."""
    import torch
    if threads > 0:
        torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = _model(arch)
    x = torch.randn(batch, 3, SHAPE["t"], SHAPE["v"], SHAPE["m"])
    times = []
    if mode == "train":
        model.train()
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)
        y = torch.randint(0, 55, (batch,))
        for i in range(steps + 1):  # first step warms up allocators and kernels
            t0 = time.perf_counter()
            opt.zero_grad(set_to_none=True)
            torch.nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
            times.append(time.perf_counter() - t0)
    else:
        model.eval()
        with torch.inference_mode():
            for i in range(steps + 1):
                t0 = time.perf_counter()
                model.extract(x)
                times.append(time.perf_counter() - t0)
    per_step = sorted(times[1:])[len(times[1:]) // 2]  # median: robust to a noisy neighbour
    return {"mode": mode, "arch": arch, "batch": batch, "step_s": per_step, "samples_per_s": batch / per_step,
            "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6, "threads": torch.get_num_threads()}


def flops_per_sample(arch: str) -> dict:
    import torch
    from torch.utils.flop_counter import FlopCounterMode
    model = _model(arch)
    x = torch.randn(2, 3, SHAPE["t"], SHAPE["v"], SHAPE["m"])
    with FlopCounterMode(display=False) as fwd:
        with torch.no_grad():
            model(x)
    with FlopCounterMode(display=False) as step:
        model(x).sum().backward()
    return {"fwd_gflops": fwd.get_total_flops() / 2 / 1e9, "train_gflops": step.get_total_flops() / 2 / 1e9,
            "params_m": sum(p.numel() for p in model.parameters()) / 1e6}


def run_child(mode, arch, batch, steps, threads) -> dict:
    cmd = [sys.executable, __file__, "--child", mode, arch, str(batch), str(steps), str(threads)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


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
    p.add_argument("--archs", default="shiftgcn,stgcn")
    p.add_argument("--skip-cache", action="store_true", help="skip the synthetic feature-cache timing")
    p.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        mode, arch, batch, steps, threads = args.child
        print(json.dumps(child(mode, arch, int(batch), int(steps), int(threads))))
        return 0
    from tabulate import tabulate
    rows = []
    for arch in args.archs.split(","):
        fl = flops_per_sample(arch)
        train = run_child("train", arch, 32, args.steps, args.threads)
        infer = run_child("infer", arch, 128, args.steps, args.threads)
        rows.append([arch, f"{train['samples_per_s']:.1f}", f"{train['peak_rss_gb']:.2f}", f"{infer['samples_per_s']:.1f}",
                     f"{infer['peak_rss_gb']:.2f}", f"{fl['fwd_gflops']:.2f}", f"{fl['train_gflops']:.2f}",
                     f"{fl['params_m']:.2f}", train["threads"]])
    rows.append(["anchor: upstream Shift-GCN (gathers)", ANCHOR["train_sps"], ANCHOR["peak_rss_gb"], ANCHOR["infer_sps"],
                 "", "", "", "", ""])
    print(f"input (N, 3, T={SHAPE['t']}, V={SHAPE['v']}, M={SHAPE['m']}); train batch 32, inference batch 128; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(tabulate(rows, headers=["backbone", "train samples/s", "train peak RSS GB", "infer samples/s",
                                  "infer peak RSS GB", "fwd GFLOPs/sample", "train GFLOPs/sample", "params M",
                                  "threads"]))
    if not args.skip_cache:
        c = cache_effect(args.threads)
        print(f"\nfeature cache on synthetic ({c['samples']} samples, pooled {c['pooled']}, maps {c['maps']}): "
              f"first get_features (pre-train + extract) {c['first_s']:.1f}s, seen-val acc {c['seen_val_acc']:.1f}%; "
              f"second (another method, same split) {c['second_s']:.2f}s, cache hit: {c['second_cache_hit']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
