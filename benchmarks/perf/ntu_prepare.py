"""Speed and memory of NTU preparation (`zssar prepare ntu60`) on replicated real files.

    .venv/bin/python benchmarks/perf/ntu_prepare.py [--files 4800] [--baseline-files 300]
                                                    [--workers N] [--tmp DIR]

Builds a temporary folder of the 6 real `.skeleton` files in ../shared replicated under
valid, distinct NTU names (setup/camera/performer/replication vary, the action id is kept
so labels stay right), then, each in a fresh child process so peak memory is its own:

* ours: `zssar.data.ntu.prepare` on all files (parallel, streaming to shards);
* baseline: an upstream-style pipeline on the first `--baseline-files` files: read
  lines, split and convert each joint line with its own numpy call, grow per-body
  arrays with vstack, keep every sample in memory, pad all to (N, T, 150) and savez.

Prints files/s and peak RSS (resource.getrusage, self and children) of both, and the
speed ratio. Nothing is written outside the temporary folder.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from itertools import product
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from zssar import paths  # noqa: E402


def build_folder(folder: Path, num_files: int) -> int:
    """Copy the real files under distinct valid names; returns total bytes written."""
    src = paths.shared_dir() / "data" / "ntu60_samples" / "raw"
    sources = sorted(src.glob("*.skeleton"))
    if not sources:
        raise SystemExit(f"needs the real NTU samples in {src} (set ZSSAR_SHARED)")
    from zssar.data.ntu import read_missing_list
    missing_file = paths.shared_dir() / "data" / "ntu_statistics" / "ntu60" / "samples_with_missing_skeletons.txt"
    missing = read_missing_list(missing_file) if missing_file.is_file() else set()
    folder.mkdir(parents=True, exist_ok=True)
    combos = list(product(range(1, 18), range(1, 4), range(1, 41), range(1, 3)))  # setup, camera, subject, rep
    total, made = 0, 0
    for k, source in enumerate(sources):
        data = source.read_bytes()
        action = source.name[16:20]
        share = num_files // len(sources) + (1 if k < num_files % len(sources) else 0)
        names = (f"S{s:03d}C{c:03d}P{p:03d}R{r:03d}{action}" for s, c, p, r in combos)
        names = [n for n in names if n not in missing][:share]
        for n in names:
            (folder / f"{n}.skeleton").write_bytes(data)
            total += len(data)
            made += 1
    assert made == num_files, (made, num_files)
    return total


def peak_rss_mb() -> dict:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"peak_rss_mb": round(own, 1), "peak_rss_children_mb": round(children, 1)}


def cpu_seconds() -> float:
    """CPU time of this process and its (finished) children: less sensitive than wall
    time to other jobs sharing the machine."""
    return sum(r.ru_utime + r.ru_stime for r in (resource.getrusage(resource.RUSAGE_SELF),
                                                 resource.getrusage(resource.RUSAGE_CHILDREN)))


def measured(files: int, start_wall: float, start_cpu: float, **extra) -> dict:
    wall, cpu = time.perf_counter() - start_wall, cpu_seconds() - start_cpu
    return {"files": files, "seconds": round(wall, 2), "files_per_s": round(files / wall, 1),
            "cpu_ms_per_file": round(1000 * cpu / files, 2), **extra, **peak_rss_mb()}


# -- the upstream-style baseline ---------------------------------------------------------
def baseline_parse(path: Path):
    """Line-by-line parse in the style of get_raw_skes_data.py (one numpy call per line)."""
    from zssar.data.ntu_skeleton import SkeletonFile
    with open(path) as f:
        lines = f.readlines()
    num_frames = int(lines[0].strip("\r\n"))
    line, body_counts, ids, frames, records = 1, [], [], [], []
    body_joints: dict[str, np.ndarray] = {}  # grown with vstack every frame, as upstream
    body_colors: dict[str, np.ndarray] = {}
    for fr in range(num_frames):
        nb = int(lines[line].strip("\r\n"))
        line += 1
        body_counts.append(nb)
        for _ in range(nb):
            body_id = lines[line].strip("\r\n").split()[0]
            nj = int(lines[line + 1].strip("\r\n"))
            line += 2
            joints = np.zeros((nj, 3), dtype=np.float32)
            colors = np.zeros((nj, 2), dtype=np.float32)
            for j in range(nj):
                values = lines[line].strip("\r\n").split()
                joints[j] = np.array(values[:3], dtype=np.float32)
                colors[j] = np.array(values[5:7], dtype=np.float32)
                line += 1
            if body_id in body_joints:
                body_joints[body_id] = np.vstack((body_joints[body_id], joints))
                body_colors[body_id] = np.vstack((body_colors[body_id], colors[None]))
            else:
                body_joints[body_id], body_colors[body_id] = joints, colors[None]
            ids.append(body_id)
            frames.append(fr)
            records.append(joints)
    # hand the records to the shared preprocessing (cheap next to the parse above)
    return SkeletonFile(path.stem, num_frames, np.array(body_counts), ids, np.array(frames),
                        np.stack(records).astype(np.float64))


def run_baseline(raw: Path, limit: int, out: Path) -> dict:
    from zssar.data.ntu_preprocess import joints_to_rows, preprocess
    files = sorted(raw.glob("*.skeleton"))[:limit]
    start, start_cpu = time.perf_counter(), cpu_seconds()
    samples = [joints_to_rows(preprocess(baseline_parse(p)).joints) for p in files]  # all in memory
    t = max(len(s) for s in samples)
    x = np.zeros((len(samples), t, 150), dtype=np.float32)
    for i, s in enumerate(samples):
        x[i, :len(s)] = s
    np.savez(out / "baseline.npz", x=x)
    return measured(len(files), start, start_cpu)


def run_ours(raw: Path, out: Path, workers: int | None) -> dict:
    from zssar.data.ntu import available_cpus, prepare
    missing = paths.shared_dir() / "data" / "ntu_statistics" / "ntu60" / "samples_with_missing_skeletons.txt"
    start, start_cpu = time.perf_counter(), cpu_seconds()
    manifest = prepare(raw, out, dataset="ntu60", workers=workers,
                       missing_list=missing if missing.is_file() else None)
    return measured(manifest["num_samples"] + manifest["excluded"]["count"], start, start_cpu,
                    workers=workers or available_cpus())


def child(phase: str, raw: Path, out: Path, args) -> dict:
    cmd = [sys.executable, __file__, "--phase", phase, "--raw", str(raw), "--out", str(out),
           "--baseline-files", str(args.baseline_files)]
    if args.workers:
        cmd += ["--workers", str(args.workers)]
    env = {**os.environ, "TQDM_DISABLE": "1"}
    res = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--files", type=int, default=4800)
    ap.add_argument("--baseline-files", type=int, default=300)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--tmp", type=Path, default=None, help="where to build the temporary folder")
    ap.add_argument("--phase", choices=("ours", "baseline"), help=argparse.SUPPRESS)
    ap.add_argument("--raw", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.phase == "ours":
        print(json.dumps(run_ours(args.raw, args.out, args.workers)))
        return
    if args.phase == "baseline":
        print(json.dumps(run_baseline(args.raw, args.baseline_files, args.out)))
        return

    tmp = Path(tempfile.mkdtemp(prefix="zssar-ntu-bench-", dir=args.tmp))
    try:
        raw = tmp / "raw"
        t0 = time.perf_counter()
        size = build_folder(raw, args.files)
        print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        print(f"built {args.files} files ({size / 1e9:.2f} GB) in {time.perf_counter() - t0:.1f}s under {tmp}")
        (tmp / "base").mkdir()
        base = child("baseline", raw, tmp / "base", args)
        print(f"baseline (upstream-style, first {base['files']} files): {base['files_per_s']} files/s, "
              f"{base['cpu_ms_per_file']} CPU-ms/file, peak RSS {base['peak_rss_mb']} MB")
        ours = child("ours", raw, tmp / "prepared", args)
        print(f"ours ({ours['files']} files, {ours['workers']} workers): {ours['files_per_s']} files/s, "
              f"{ours['seconds']} s, {ours['cpu_ms_per_file']} CPU-ms/file (all processes), "
              f"peak RSS main {ours['peak_rss_mb']} MB, largest worker {ours['peak_rss_children_mb']} MB")
        print(f"ratio ours / baseline: {ours['files_per_s'] / base['files_per_s']:.1f}x files/s (wall), "
              f"{base['cpu_ms_per_file'] / ours['cpu_ms_per_file']:.1f}x less CPU per file")
        print(f"load average after: {os.getloadavg()[0]:.1f}")
        print(json.dumps({"files": args.files, "bytes": size, "baseline": base, "ours": ours}))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
