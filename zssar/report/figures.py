"""PNG figures: per-class accuracy bars (as Neuron's Fig. 6) and GZSL seen/unseen calibration curves."""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from zssar import metrics
from zssar.io import atomic_path
from zssar.report import store

log = logging.getLogger(__name__)


def _plt():
    import matplotlib
    matplotlib.use("Agg")  # files only, never a window
    import matplotlib.pyplot as plt
    return plt


def _save(fig, path: Path) -> Path:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120, bbox_inches="tight")
    _plt().close(fig)
    return path


def _stem(dataset: str, protocol: str, split: str) -> str:
    return f"{dataset}-{protocol}_{split}".replace("/", "_").replace(" ", "_")


def per_class_figure(runs: pd.DataFrame, root: Path, out: Path) -> Path | None:
    """Grouped bars: ZSL accuracy of every unseen class, one bar per method (mean over seeds)."""
    acc: dict[str, dict[str, list[float]]] = {}
    names: dict[str, str] = {}
    for row, g in runs.groupby("row", sort=True):
        for run_dir in g["run_dir"]:
            per_class = store.load_run(run_dir, root).get("per_class") or {}
            for cid, entry in per_class.items():
                if entry.get("zsl_acc") is None:
                    continue
                names[cid] = entry.get("name", cid)
                acc.setdefault(row, {}).setdefault(cid, []).append(float(entry["zsl_acc"]))
    if not acc:
        return None
    classes = sorted(names, key=int)
    rows = sorted(acc)
    plt = _plt()
    fig, ax = plt.subplots(figsize=(max(6.0, 0.45 * len(classes) * max(1, len(rows)) ** 0.5), 4.0))
    width = 0.8 / len(rows)
    x = np.arange(len(classes))
    for i, row in enumerate(rows):
        means = [np.mean(acc[row].get(c, [np.nan])) for c in classes]
        ax.bar(x + (i - (len(rows) - 1) / 2) * width, means, width, label=row)
    ax.set_xticks(x, [names[c] for c in classes], rotation=60, ha="right", fontsize=8)
    ax.set_ylabel("ZSL accuracy (%)")
    ax.set_ylim(0, 100)
    first = runs.iloc[0]
    synthetic = " [synthetic]" if runs["synthetic"].any() else ""
    ax.set_title(f"Per-class ZSL accuracy: {first['dataset']}{synthetic} {first['protocol']} {first['setting']}")
    ax.legend(fontsize=8)
    return _save(fig, out / f"per_class_{_stem(first['dataset'], first['protocol'], first['setting'])}.png")


def curve_from_preds(preds: dict, seen_classes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The exact seen/unseen curve from a preds.npz (format in results/README.md)."""
    class_ids = np.asarray(preds["gzsl_class_ids"])
    labels = np.asarray(preds["labels"])[np.asarray(preds["gzsl_sample_idx"])]
    lut = {int(c): j for j, c in enumerate(class_ids)}
    cols = np.array([lut[int(y)] for y in labels])
    seen_cols = np.isin(class_ids, list(seen_classes))
    return metrics.seen_unseen_curve(preds["gzsl_scores"], cols, seen_cols)


def calibration_figure(runs: pd.DataFrame, root: Path, out: Path) -> Path | None:
    """Seen vs unseen accuracy swept over γ; the honest and oracle operating points marked."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5.0, 5.0))
    drawn = 0
    for row, g in runs.groupby("row", sort=True):
        for run in g.to_dict("records"):
            run_dir = Path(run["run_dir"])
            run_dir = run_dir if run_dir.is_absolute() else root / run_dir
            preds = store.load_preds(run_dir)
            if preds is None:
                continue
            seen_classes = store.load_run(run_dir).get("split", {}).get("seen", [])
            seen, unseen, _ = curve_from_preds(preds, seen_classes)
            line, = ax.plot(unseen, seen, label=f"{row} (seed {run['seed']})")
            for (u_key, s_key), marker in ((("gzsl_unseen", "gzsl_seen"), "o"),
                                           (("oracle.gzsl_unseen", "oracle.gzsl_seen"), "x")):
                point = np.array([run.get(u_key, np.nan), run.get(s_key, np.nan)], dtype=float)
                if np.isfinite(point).all():
                    ax.plot(*point, marker, color=line.get_color())
            drawn += 1
            break  # one seed per method keeps the plot readable
    if not drawn:
        plt.close(fig)
        return None
    first = runs.iloc[0]
    synthetic = " [synthetic]" if runs["synthetic"].any() else ""
    ax.set_xlabel("unseen accuracy (%)")
    ax.set_ylabel("seen accuracy (%)")
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 100)
    ax.set_title(f"GZSL calibration: {first['dataset']}{synthetic} {first['protocol']} {first['setting']}\n"
                 "o = honest γ (validation), x = oracle γ (test)", fontsize=9)
    ax.legend(fontsize=7)
    return _save(fig, out / f"calibration_{_stem(first['dataset'], first['protocol'], first['setting'])}.png")


FAMILY_METRICS = (("zsl_top1", "ZSL top-1 (%)"), ("gzsl_h", "GZSL H, honest γ (%)"))


def family_figure(runs: pd.DataFrame, root: Path, out: Path) -> Path | None:
    """Split families: one dot per split (seed-averaged) for every method, a grey line joining
    the same split across methods (the pairing `zssar compare` uses), and each method's mean
    with its 95% t-interval over splits."""
    from scipy import stats
    per_split = runs.groupby(["row", "split"], sort=True)[[m for m, _ in FAMILY_METRICS]].mean()
    rows = sorted(per_split.index.get_level_values("row").unique())
    if not rows:
        return None
    plt = _plt()
    fig, axes = plt.subplots(1, len(FAMILY_METRICS), figsize=(max(6.0, 1.6 * len(rows) * len(FAMILY_METRICS)), 4.2))
    for ax, (metric, label) in zip(np.atleast_1d(axes), FAMILY_METRICS):
        table = per_split[metric].unstack("row").reindex(columns=rows)  # splits x methods
        x = np.arange(len(rows))
        for _, values in table.iterrows():
            ax.plot(x, values.to_numpy(dtype=float), color="0.8", lw=0.7, zorder=1)
        for i, row in enumerate(rows):
            v = table[row].dropna().to_numpy(dtype=float)
            ax.scatter(np.full(len(v), i), v, s=12, alpha=0.7, zorder=2)
            if len(v) >= 2:
                lo, hi = stats.t.interval(0.95, len(v) - 1, loc=v.mean(), scale=stats.sem(v)) \
                    if stats.sem(v) > 0 else (v.mean(), v.mean())
                ax.errorbar(i + 0.18, v.mean(), yerr=[[v.mean() - lo], [hi - v.mean()]], fmt="D", color="k",
                            ms=5, capsize=3, zorder=3)
        ax.set_xticks(x, rows, rotation=30, ha="right", fontsize=8)
        ax.set_ylabel(label)
        ax.set_ylim(0, 100)
    first = runs.iloc[0]
    synthetic = " [synthetic]" if runs["synthetic"].any() else ""
    n_splits = per_split.index.get_level_values("split").nunique()
    fig.suptitle(f"{first['dataset']}{synthetic} {first['protocol']} {first['setting']}: {n_splits} splits "
                 "(dots: splits, seed-averaged; lines: same split; black: mean, 95% CI)", fontsize=9)
    return _save(fig, out / f"family_{_stem(first['dataset'], first['protocol'], first['setting'])}.png")


def build_figures(runs: pd.DataFrame, root: Path, out: Path) -> list[Path]:
    """Per-class and calibration figures for every (dataset, protocol, split) of single-split
    runs; a per-split spread figure for every split family (prepared by tables.prepare)."""
    written = []
    for _, g in runs[runs["is_family"]].groupby(["dataset", "protocol", "setting"], sort=True):
        try:
            path = family_figure(g, root, out)
        except (ValueError, KeyError, OSError) as e:
            log.warning("family figure for %s skipped: %s", g["setting"].iloc[0], e)
            continue
        if path is not None:
            written.append(path)
    single = runs[~runs["is_family"]]
    for _, g in single.groupby(["dataset", "protocol", "setting"], sort=True):
        for make in (per_class_figure, calibration_figure):
            try:
                path = make(g, root, out)
            except (ValueError, KeyError, OSError) as e:
                log.warning("figure %s for %s skipped: %s", make.__name__, g["run_dir"].iloc[0], e)
                continue
            if path is not None:
                written.append(path)
    return written
