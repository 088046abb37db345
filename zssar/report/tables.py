"""Result tables: the papers' layouts regenerated from result.json, plus per-dataset and
ablation tables. Every table is written as Markdown, LaTeX and CSV (tidy, one row per cell).

A cell is mean ± std over seeds with n; a split family (``split.family``) is mean ± standard
error over its splits (each split first averaged over its seeds). Paper numbers come from
``results/reported/`` and are matched on method, dataset, protocol, split *and* benchmark
setting; paper GZSL numbers tune γ on the test set, so they sit beside our *oracle* GZSL.
"""
from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from tabulate import tabulate

from zssar.io import write_text
from zssar.report import reported as rep
from zssar.report import store

log = logging.getLogger(__name__)

PAPER_DATASETS = ("ntu60", "ntu120", "pku_mmd1")
DATASET_TITLES = {"ntu60": "NTU-60", "ntu120": "NTU-120", "pku_mmd1": "PKU-MMD I"}
PROTOCOL_TITLES = {"xsub": "Xsub", "xview": "Xview", "xset": "Xset"}
METRIC_TITLES = {
    "zsl_top1": "ZSL", "zsl_top5": "ZSL top-5", "zsl_mean_class_acc": "ZSL mean-class",
    "gzsl_seen": "S", "gzsl_unseen": "U", "gzsl_h": "H", "gzsl_ausuc": "AUSUC",
    "oracle.gzsl_seen": "S (oracle)", "oracle.gzsl_unseen": "U (oracle)", "oracle.gzsl_h": "H (oracle)",
}
# the Neuron paper's Tables 2-4: dataset -> protocols, splits
NEURON_LAYOUT = {"ntu60": (("xsub", "xview"), ("55/5", "48/12")),
                 "ntu120": (("xsub", "xset"), ("110/10", "96/24")),
                 "pku_mmd1": (("xsub", "xview"), ("46/5", "39/12"))}
# the SkeletonContext paper's ZSL and GZSL tables: four NTU splits (Xsub)
SKELETONCONTEXT_COLUMNS = (("ntu60", "55/5"), ("ntu60", "48/12"), ("ntu120", "110/10"), ("ntu120", "96/24"))

NOTE_SEEDS = "Cells: mean ± std over seeds (n = seeds; n=a/b: only a of the b seeds run elsewhere are finished)."
NOTE_FAMILY = ("Split families: mean ± standard error over splits, each split averaged over its seeds "
               "(n = splits; n=a/b: a of b splits finished).")
NOTE_GAMMA = ("GZSL S/U/H: calibrated stacking with γ chosen on validation classes (honest). "
              "'oracle' = γ tuned on the test set, the protocol of the papers' own code.")
NOTE_PAPER = "paper = number printed in the source below, same benchmark setting; Δ = ours − paper."
NOTE_LEAK = "† trains with unseen-class text (upstream behaviour): not a clean zero-shot result."


@dataclass
class Table:
    name: str                      # file stem
    title: str
    display: pd.DataFrame          # rendered cells (strings)
    tidy: pd.DataFrame             # the CSV: one row per cell, numbers
    notes: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------------------
# runs -> systems and cells
# --------------------------------------------------------------------------------------
def _fmt_value(v) -> str:
    return json.dumps(v, separators=(",", ":")) if not isinstance(v, str) else v


def _config_diff(cfg: dict, base: dict) -> list[str]:
    return [f"{k}={_fmt_value(cfg.get(k))}" for k in sorted(set(cfg) | set(base)) if cfg.get(k) != base.get(k)]


def prepare(df: pd.DataFrame) -> pd.DataFrame:
    """Add the columns tables group on: setting, is_family, label, benchmark, system, row."""
    df = df.copy()
    if "tuning" not in df:  # frames built before tuned runs existed
        df["tuning"] = ""
    df["is_family"] = df["family"].astype(str) != ""
    df["setting"] = np.where(df["is_family"], df["family"], df["split"])
    df["label"] = [rep.split_label(d, s, u, n) for d, s, u, n in
                   zip(df["dataset"], df["split"], df["unseen"], df["num_seen"])]
    df["benchmark"] = [rep.benchmark_of(d, p, lab, u, f) for d, p, lab, u, f in
                       zip(df["dataset"], df["protocol"], df["label"], df["unseen"], df["family"])]
    df["protocol"] = df["protocol"].map(rep.normalize_protocol)
    df["system"] = df["method"] + "|" + df["config_hash"] + "|" + df["text_encoder"]
    # the same run found twice (e.g. copied folders): keep the newest
    key = ["dataset", "protocol", "split", "system", "seed"]
    dup = df.duplicated(key, keep=False)
    if dup.any():
        log.warning("%d duplicate runs (same dataset/protocol/split/config/seed); keeping the newest of each",
                    int(dup.sum()))
        df = df.sort_values("created").drop_duplicates(key, keep="last")
    df["row"] = _system_labels(df)
    return df.sort_values(["dataset", "protocol", "setting", "row", "seed"], kind="stable").reset_index(drop=True)


def _marks(run: pd.Series) -> str:
    return (" (reconstructed)" if run["reconstructed"] else "") + (" †" if run["uses_unseen_text"] else "")


def _default_config(method: str, dataset: str) -> dict | None:
    """The registered method's default config for `dataset` as stored in result.json, or None
    (an unregistered or renamed method: results outlive plugins)."""
    from methods.base import config_to_dict
    from methods.registry import get_method
    try:
        cfg = config_to_dict(get_method(method).default_config(dataset))
    except (KeyError, ValueError, ImportError):
        return None
    return json.loads(json.dumps(cfg))  # tuples -> lists, as the stored JSON has them


def _system_labels(df: pd.DataFrame) -> pd.Series:
    """Display name per run: the method, plus the config keys that set it apart from the method's
    current default config on that dataset (the most used config when the default was not run),
    plus tags. A tuned system (each split chose its
    own config) is one row named by what it tuned: `neuron[tuned per split: logit_scale]`."""
    labels = pd.Series("", index=df.index, dtype=object)
    for (_, method), g in df.groupby(["dataset", "method"], sort=True):
        tuned, g = g[g["tuning"] != ""], g[g["tuning"] == ""]
        for system, sg in tuned.groupby("system"):
            first = sg.iloc[0]
            name = f"{method}[{first['tuning']}]"
            if tuned.loc[tuned["tuning"] == first["tuning"], "system"].nunique() > 1:
                name += f"@{first['config_hash']}"  # the same keys tuned with another grid, metric or base
            labels[sg.index] = name + _marks(first)
        if g.empty:
            continue
        # untuned runs: labelled against the method's current default config when it was run (so the
        # plain name means "what you get today"), else against the most used untuned config
        counts = g.groupby("system").size().sort_index()
        default = _default_config(method, g["dataset"].iloc[0])
        is_default = [s for s, sg in g.groupby("system") if json.loads(sg["config"].iloc[0]) == default]
        base = is_default[0] if is_default else counts.idxmax()
        base_row = g[g["system"] == base].iloc[0]
        base_cfg = json.loads(base_row["config"])
        for system, sg in g.groupby("system"):
            first = sg.iloc[0]
            diffs = _config_diff(json.loads(first["config"]), base_cfg)
            if first["text_encoder"] != base_row["text_encoder"]:
                diffs.append(f"text={first['text_encoder']}")
            name = method + (f"[{', '.join(diffs)}]" if diffs else
                             ("" if system == base else f"@{first['config_hash'][:7]}"))
            labels[sg.index] = name + _marks(first)
    return labels


def expected_counts(df: pd.DataFrame) -> tuple[dict, dict]:
    """(seeds expected per system, splits expected per (dataset, family))."""
    single = df[~df["is_family"]]
    seeds = single.groupby(["system", "dataset", "protocol", "split"])["seed"].nunique().groupby("system").max()
    splits = {}
    for (dataset, family), g in df[df["is_family"]].groupby(["dataset", "family"]):
        observed = int(g.groupby("system")["split"].nunique().max())
        try:  # the family file says how many splits there should be; absent -> what was observed
            import yaml

            from zssar.splits import resolve
            members = len(resolve(family))
        except (KeyError, ValueError, OSError, yaml.YAMLError):
            members = 0
        splits[(dataset, family)] = max(members, observed)
    return seeds.to_dict(), splits


def cell_stats(g: pd.DataFrame, metric: str, is_family: bool) -> dict:
    vals = g[["split", "seed", metric]].dropna(subset=[metric]) if metric in g else g.iloc[0:0]
    if vals.empty:
        return {"mean": np.nan, "spread": np.nan, "spread_kind": "", "n": 0, "n_runs": 0}
    if is_family:
        per_split = vals.groupby("split")[metric].mean()
        k = len(per_split)
        spread = per_split.std(ddof=1) / math.sqrt(k) if k > 1 else np.nan
        return {"mean": float(per_split.mean()), "spread": float(spread), "spread_kind": "se", "n": k,
                "n_runs": len(vals)}
    v = vals[metric]
    return {"mean": float(v.mean()), "spread": float(v.std(ddof=1)) if len(v) > 1 else np.nan,
            "spread_kind": "std", "n": len(v), "n_runs": len(v)}


def cells(df: pd.DataFrame, metrics: list[str], prefer: tuple[str, ...] = (), with_paper: bool = True) -> pd.DataFrame:
    """Tidy cells: one row per (dataset, protocol, setting, system, metric)."""
    seeds, splits = expected_counts(df)
    reported = rep.load() if with_paper else pd.DataFrame(columns=rep.COLUMNS)
    rows = []
    keys = ["dataset", "protocol", "setting", "is_family", "system"]
    for (dataset, protocol, setting, is_family, system), g in df.groupby(keys, sort=True):
        first = g.iloc[0]
        expected = splits.get((dataset, setting), 0) if is_family else int(seeds.get(system, 0))
        for metric in metrics:
            stats = cell_stats(g, metric, bool(is_family))
            row = {"dataset": dataset, "synthetic": bool(g["synthetic"].any()), "protocol": protocol,
                   "setting": setting, "split_label": first["label"], "benchmark": first["benchmark"],
                   "family": bool(is_family), "method": first["method"], "row": first["row"], "system": system,
                   "config_hash": first["config_hash"], "text_encoder": first["text_encoder"],
                   "uses_unseen_text": bool(first["uses_unseen_text"]), "tags": first["tags"],
                   "metric": metric, **stats, "n_expected": max(expected, stats["n"]),
                   "git_dirty_runs": int(g["env.git_dirty"].sum()),
                   "paper": np.nan, "delta": np.nan, "paper_source": "", "paper_citation": "",
                   "paper_verification": ""}
            paper_metric = rep.OURS_TO_PAPER.get(metric)
            if paper_metric and with_paper:
                hit = rep.lookup(reported, method=first["method"], dataset=dataset, protocol=protocol,
                                 split=first["label"], benchmark=first["benchmark"], metric=paper_metric,
                                 prefer=prefer)
                if hit is not None:
                    row.update(paper=hit.value, delta=stats["mean"] - hit.value, paper_source=hit.table,
                               paper_citation=hit.citation, paper_verification=hit.verification)
            rows.append(row)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------
# formatting
# --------------------------------------------------------------------------------------
def fmt_cell(c: dict | pd.Series, digits: int = 1) -> str:
    if c is None or c["n"] == 0 or not np.isfinite(c["mean"]):
        return "–"
    text = f"{c['mean']:.{digits}f}"
    if np.isfinite(c["spread"]):
        text += f" ± {c['spread']:.{digits}f}"
    n = f"{c['n']}" if c["n"] >= c["n_expected"] else f"{c['n']}/{c['n_expected']}"
    unit = " splits" if c["spread_kind"] == "se" else ""
    return f"{text} (n={n}{unit})"


def fmt_num(x: float, digits: int = 1, signed: bool = False) -> str:
    if x is None or not np.isfinite(x):
        return "–"
    return f"{x:+.{digits}f}" if signed else f"{x:.{digits}f}"


def dataset_title(dataset: str, synthetic: bool) -> str:
    title = DATASET_TITLES.get(dataset, dataset)
    return f"{title} [synthetic]" if synthetic and "synthetic" not in dataset else title


def _sources_note(tidy: pd.DataFrame) -> list[str]:
    used = tidy[tidy["paper_source"] != ""][["paper_source", "paper_citation", "paper_verification"]]
    used = used.drop_duplicates().sort_values("paper_source")
    return [f"Source: {r.paper_source} — {r.paper_citation} (verification: {r.paper_verification})"
            for r in used.itertuples()]


def _common_notes(df_runs: pd.DataFrame, tidy: pd.DataFrame) -> list[str]:
    notes = []
    if tidy["family"].any():
        notes.append(NOTE_FAMILY)
    if (~tidy["family"]).any():
        notes.append(NOTE_SEEDS)
    if tidy["uses_unseen_text"].any():
        notes.append(NOTE_LEAK)
    if tidy["tags"].str.contains("reconstructed").any():
        notes.append("(reconstructed): the method was rebuilt from its paper; no upstream code to check against.")
    if tidy["synthetic"].any():
        notes.append("synthetic: generated data, not a real-world benchmark.")
    dirty = df_runs[df_runs["env.git_dirty"].astype(bool)]
    if len(dirty):
        notes.append(f"WARNING: {len(dirty)} run(s) in this table come from a dirty git tree: "
                     + ", ".join(dirty["run_dir"].head(5)) + (" …" if len(dirty) > 5 else ""))
    return notes


def _get(tidy: pd.DataFrame, metric: str) -> pd.Series | None:
    hit = tidy[tidy["metric"] == metric]
    return None if hit.empty else hit.iloc[0]


# --------------------------------------------------------------------------------------
# the layouts
# --------------------------------------------------------------------------------------
def neuron_tables(df: pd.DataFrame, digits: int = 1) -> list[Table]:
    """Neuron Tables 2-4: rows (dataset, protocol, split, method); ZSL + honest GZSL, and oracle GZSL."""
    in_layout = np.array([d in NEURON_LAYOUT and p in NEURON_LAYOUT[d][0] and lab in NEURON_LAYOUT[d][1]
                          for d, p, lab in zip(df["dataset"], df["protocol"], df["label"])], bool)
    keep = df[~df["is_family"] & (df["benchmark"] == "star_official") & in_layout]
    if keep.empty:
        return []
    metrics = ["zsl_top1", "gzsl_seen", "gzsl_unseen", "gzsl_h", "gzsl_ausuc",
               "oracle.gzsl_seen", "oracle.gzsl_unseen", "oracle.gzsl_h"]
    tidy = cells(keep, metrics, prefer=("neuron",))
    order = {d: i for i, d in enumerate(NEURON_LAYOUT)}
    groups = sorted(tidy.groupby(["dataset", "protocol", "setting", "row"]),
                    key=lambda kv: (order[kv[0][0]], NEURON_LAYOUT[kv[0][0]][0].index(kv[0][1]),
                                    NEURON_LAYOUT[kv[0][0]][1].index(kv[1]["split_label"].iloc[0]), kv[0][3]))
    honest, oracle = [], []
    for (dataset, protocol, _, row), g in groups:
        head = {"Dataset": DATASET_TITLES[dataset], "Protocol": PROTOCOL_TITLES.get(protocol, protocol),
                "Split": g["split_label"].iloc[0], "Method": row}
        z = _get(g, "zsl_top1")
        honest.append({**head, "ZSL": fmt_cell(z, digits), "ZSL paper": fmt_num(z["paper"], digits),
                       "Δ ZSL": fmt_num(z["delta"], digits, True),
                       **{METRIC_TITLES[m]: fmt_cell(_get(g, m), digits)
                          for m in ("gzsl_seen", "gzsl_unseen", "gzsl_h", "gzsl_ausuc")}})
        o = dict(head)
        for m, short in (("oracle.gzsl_seen", "S"), ("oracle.gzsl_unseen", "U"), ("oracle.gzsl_h", "H")):
            c = _get(g, m)
            o.update({f"{short} (oracle)": fmt_cell(c, digits), f"{short} paper": fmt_num(c["paper"], digits),
                      f"Δ {short}": fmt_num(c["delta"], digits, True)})
        oracle.append(o)
    notes = _common_notes(keep, tidy) + [NOTE_GAMMA, NOTE_PAPER] + _sources_note(tidy)
    zsl_tidy = tidy[tidy["metric"].isin(metrics[:5])]
    return [Table("neuron_zsl_gzsl", "Neuron layout (Tables 2-4): ZSL top-1 and GZSL with honest γ",
                  pd.DataFrame(honest), zsl_tidy, notes),
            Table("neuron_gzsl_oracle", "Neuron layout (Tables 2-4): GZSL with oracle γ (paper protocol) vs paper",
                  pd.DataFrame(oracle), tidy[tidy["metric"].str.startswith("oracle.")], notes)]


def _wide(tidy: pd.DataFrame, metric: str, columns: list[tuple], col_key, digits: int, with_paper: bool) -> pd.DataFrame:
    rows = []
    for row, g in tidy[tidy["metric"] == metric].groupby("row", sort=True):
        out = {"Method": row}
        for col in columns:
            hit = g[g.apply(col_key, axis=1) == col]
            title = f"{DATASET_TITLES.get(col[0], col[0])} {col[1]}"
            if hit.empty:
                out[title] = "–"
                continue
            c = hit.iloc[0]
            text = fmt_cell(c, digits)
            if with_paper and np.isfinite(c["paper"]):
                text += f" [paper {fmt_num(c['paper'], digits)}, Δ {fmt_num(c['delta'], digits, True)}]"
            out[title] = text
        rows.append(out)
    return pd.DataFrame(rows)


def skeletoncontext_tables(df: pd.DataFrame, digits: int = 1) -> list[Table]:
    """SkeletonContext's ZSL table and GZSL-H table over the four NTU splits (Xsub)."""
    keep = df[~df["is_family"] & (df["benchmark"] == "star_official") & (df["protocol"] == "xsub")
              & np.array([(d, lab) in SKELETONCONTEXT_COLUMNS for d, lab in zip(df["dataset"], df["label"])], bool)]
    if keep.empty:
        return []
    tidy = cells(keep, ["zsl_top1", "gzsl_h", "oracle.gzsl_h"], prefer=("skeletoncontext",))
    cols = list(SKELETONCONTEXT_COLUMNS)
    key = lambda r: (r["dataset"], r["split_label"])  # noqa: E731
    notes = _common_notes(keep, tidy)
    out = []
    for metric, name, title, paper in (
            ("zsl_top1", "skeletoncontext_zsl", "SkeletonContext layout: ZSL top-1 (NTU, Xsub)", True),
            ("gzsl_h", "skeletoncontext_gzsl_h", "SkeletonContext layout: GZSL H, honest γ (NTU, Xsub)", False),
            ("oracle.gzsl_h", "skeletoncontext_gzsl_h_oracle",
             "SkeletonContext layout: GZSL H, oracle γ (paper protocol) vs paper (NTU, Xsub)", True)):
        t = tidy[tidy["metric"] == metric]
        extra = ([NOTE_PAPER] + _sources_note(t)) if paper else []
        out.append(Table(name, title, _wide(t, metric, cols, key, digits, paper), t, notes + [NOTE_GAMMA] + extra))
    return out


def random_split_table(df: pd.DataFrame, digits: int = 1) -> list[Table]:
    """Average over random seen/unseen re-partitions (SMIE-style families), as Neuron Table 5."""
    keep = df[df["is_family"] & df["dataset"].isin(PAPER_DATASETS)]
    if keep.empty:
        return []
    tidy = cells(keep, ["zsl_top1", "gzsl_h", "oracle.gzsl_h"], prefer=("neuron",))
    rows = []
    for (dataset, protocol, setting, row), g in tidy.groupby(["dataset", "protocol", "setting", "row"], sort=True):
        out = {"Dataset": dataset_title(dataset, bool(g["synthetic"].any())),
               "Protocol": PROTOCOL_TITLES.get(protocol, protocol), "Family": setting,
               "Split": g["split_label"].iloc[0], "Method": row}
        for metric in ("zsl_top1", "gzsl_h", "oracle.gzsl_h"):
            c = _get(g, metric)
            out[METRIC_TITLES[metric]] = fmt_cell(c, digits)
            if metric != "gzsl_h":
                out[f"{METRIC_TITLES[metric]} paper"] = fmt_num(c["paper"], digits)
                out[f"Δ {METRIC_TITLES[metric]}"] = fmt_num(c["delta"], digits, True)
        rows.append(out)
    notes = _common_notes(keep, tidy) + [NOTE_GAMMA, NOTE_PAPER] + _sources_note(tidy)
    return [Table("random_splits", "Random seen/unseen splits (SMIE-style families; Neuron Table 5 setting)",
                  pd.DataFrame(rows), tidy, notes)]


def dataset_tables(df: pd.DataFrame, digits: int = 1) -> list[Table]:
    """One table per dataset: rows (protocol, split or family, method), all headline metrics."""
    out = []
    for dataset, g in df.groupby("dataset", sort=True):
        tiers = sorted(c for c in g.columns if c.startswith("tiers.") and g[c].notna().any())
        metrics = ["zsl_top1", "zsl_top5", "zsl_mean_class_acc", "gzsl_seen", "gzsl_unseen", "gzsl_h",
                   "gzsl_ausuc", "oracle.gzsl_h"] + tiers
        tidy = cells(g, metrics, with_paper=False)
        synthetic = bool(tidy["synthetic"].any())
        rows = []
        for (protocol, setting, row), c in tidy.groupby(["protocol", "setting", "row"], sort=True):
            r = {"Protocol": PROTOCOL_TITLES.get(protocol, protocol),
                 "Split": setting + (" (family)" if c["family"].iloc[0] else ""), "Method": row}
            for m in metrics:
                title = METRIC_TITLES.get(m, f"ZSL tier {m.split('.', 1)[1]}" if m.startswith("tiers.") else m)
                r[title] = fmt_cell(_get(c, m), digits)
            rows.append(r)
        notes = _common_notes(g, tidy) + [NOTE_GAMMA]
        if tiers:
            notes.append("ZSL tier X: ZSL top-1 over the unseen classes of one novelty tier.")
        out.append(Table(f"dataset_{dataset}", f"{dataset_title(dataset, synthetic)}"
                         + (" (synthetic data)" if synthetic else "") + ": all methods",
                         pd.DataFrame(rows), tidy, notes))
    return out


def _bool_split(config: str) -> tuple[str, dict]:
    cfg = json.loads(config)
    rest = {k: v for k, v in cfg.items() if not isinstance(v, bool)}
    return json.dumps(rest, sort_keys=True), {k: v for k, v in cfg.items() if isinstance(v, bool)}


def _paired_delta(g: pd.DataFrame, system: str, base: str, metric: str) -> float | None:
    """Mean over splits of the seed-averaged variant − base difference on shared runs."""
    if metric not in g.columns:
        return None
    cols = ["split", "seed", metric]
    pairs = g[g["system"] == system][cols].merge(g[g["system"] == base][cols], on=["split", "seed"],
                                                 suffixes=("_a", "_b")).dropna()
    if pairs.empty:
        return None
    diff = (pairs[f"{metric}_a"] - pairs[f"{metric}_b"]).groupby(pairs["split"]).mean()
    return float(diff.mean())


def ablation_table(df: pd.DataFrame, digits: int = 1) -> list[Table]:
    """Rows: one method's configs that differ only in boolean switches; Δ against the base config
    (the most-run one; ties: the one with the most switches on)."""
    metrics = ["zsl_top1", "gzsl_h", "oracle.gzsl_h", "gzsl_ausuc"]
    df = df[df["tuning"] == ""].copy()  # a tuned system has no one config: it is not a switch variant
    df["non_bool"] = [_bool_split(c)[0] for c in df["config"]]
    rows, tidies, used = [], [], []
    keys = ["dataset", "protocol", "setting", "method", "text_encoder", "non_bool"]
    for (dataset, protocol, setting, method, _, _), g in df.groupby(keys, sort=True):
        systems = g.drop_duplicates("system")
        if len(systems) < 2:
            continue
        tidy = cells(g, metrics, with_paper=False)
        counts = g.groupby("system").size()
        switches = {s: _bool_split(c)[1] for s, c in zip(systems["system"], systems["config"])}
        base = max(switches, key=lambda s: (counts[s], sum(switches[s].values()), s))
        for system in sorted(switches, key=lambda s: (s != base, s)):
            diffs = [f"{k}={_fmt_value(v)}" for k, v in sorted(switches[system].items())
                     if switches[base].get(k) != v]
            label = f"{method}[{', '.join(diffs)}]" if diffs else f"{method} (base)"
            c = tidy[tidy["system"] == system]
            b = tidy[tidy["system"] == base]
            r = {"Dataset": dataset_title(dataset, bool(c["synthetic"].any())),
                 "Protocol": PROTOCOL_TITLES.get(protocol, protocol), "Split": setting, "Variant": label}
            for m in metrics:
                r[METRIC_TITLES[m]] = fmt_cell(_get(c, m), digits)
                delta = None if system == base else _paired_delta(g, system, base, m)
                r[f"Δ {METRIC_TITLES[m]}"] = "" if delta is None else fmt_num(delta, digits, True)
            rows.append(r)
            tidies.append(c.assign(variant=label))
        used.append(g)
    if not rows:
        return []
    tidy = pd.concat(tidies, ignore_index=True)
    notes = _common_notes(pd.concat(used), tidy) + [
        NOTE_GAMMA, "Δ = variant − base, paired: on the (split, seed) runs both have, averaged over a split's "
                    "seeds, then over splits (a variant run on fewer splits is compared on those splits only)."]
    return [Table("ablation", "Ablations: configs that differ only in boolean switches", pd.DataFrame(rows),
                  tidy, notes)]


TIMING_STAGES = {"calibration_s": "calibration s", "backbone_s": "backbone s", "train_s": "train s",
                 "eval_s": "eval s"}


def timing_table(df: pd.DataFrame, digits: int = 1) -> list[Table]:
    """Wall-clock seconds per run, from each result.json's `timing`: one row per dataset, system
    and device/thread count (a CPU run and a GPU run of one system are different costs)."""
    if "timing.total_s" not in df or not df["timing.total_s"].notna().any():
        return []
    df = df[df["timing.total_s"].notna()].copy()
    df["threads"] = df["env.num_threads"].map(lambda n: "" if pd.isna(n) else f" × {int(n)} thread(s)")
    rows, tidy = [], []
    for (dataset, row, device, threads), g in df.groupby(["dataset", "row", "env.device", "threads"], sort=True):
        total = g["timing.total_s"]
        q25, median, q75 = total.quantile([0.25, 0.5, 0.75])
        r = {"Dataset": dataset_title(dataset, bool(g["synthetic"].any())), "Method": row,
             "Device": (device or "?") + threads, "Runs": len(g),
             "total s, median [IQR]": f"{median:.{digits}f} [{q25:.{digits}f}, {q75:.{digits}f}]"}
        key = {"dataset": dataset, "row": row, "device": device, "num_threads": g["env.num_threads"].iloc[0]}
        for stage, title in TIMING_STAGES.items():
            v = g[f"timing.{stage}"].dropna() if f"timing.{stage}" in g else pd.Series(dtype=float)
            # a stage a run skipped (its calibration world reused from `zssar tune`) is not a 0 s stage
            r[title] = "" if v.empty else f"{v.median():.{digits}f}" + ("" if len(v) == len(g) else f" (n={len(v)})")
            tidy.append({**key, "stage": stage, "median_s": v.median() if len(v) else np.nan, "n_runs": len(v)})
        tidy.append({**key, "stage": "total_s", "median_s": median, "q25_s": q25, "q75_s": q75, "n_runs": len(g)})
        rows.append(r)
    notes = ["Seconds per run as each run recorded them (result.json `timing`), every finished run of the system "
             "counted: runs made side by side on shared cores, with warm or cold caches, so these describe the runs "
             "as made, not a controlled speed benchmark (benchmarks/perf/ measures speed side by side).",
             "backbone s is near 0 when the feature cache held the split's backbone. A stage cell with n= is the "
             "median over the runs that ran that stage, a blank one means no run did: the others reused a calibration "
             "world scored earlier (`zssar tune`, or per-split tuning)."]
    return [Table("timing", "Time per run (wall clock)", pd.DataFrame(rows), pd.DataFrame(tidy), notes)]


def build_tables(df: pd.DataFrame, digits: int = 1) -> list[Table]:
    """All tables for these runs (already filtered to table-worthy runs)."""
    if df.empty:
        return []
    store.check_versions(df)
    store.dirty_runs(df)
    runs = prepare(df)
    return (neuron_tables(runs, digits) + skeletoncontext_tables(runs, digits) + random_split_table(runs, digits)
            + dataset_tables(runs, digits) + ablation_table(runs, digits) + timing_table(runs, digits))


# --------------------------------------------------------------------------------------
# rendering
# --------------------------------------------------------------------------------------
TIDY_COLUMNS = ["dataset", "synthetic", "protocol", "setting", "split_label", "benchmark", "family", "row",
                "method", "config_hash", "text_encoder", "uses_unseen_text", "tags", "metric", "mean", "spread",
                "spread_kind", "n", "n_expected", "n_runs", "git_dirty_runs", "paper", "delta", "paper_source",
                "paper_citation", "paper_verification"]


def to_markdown(t: Table) -> str:
    body = tabulate(t.display, headers="keys", tablefmt="github", showindex=False, disable_numparse=True)
    notes = "\n".join(f"- {n}" for n in t.notes)
    return f"## {t.title}\n\n{body}\n\n{notes}\n"


_TEX_ESCAPES = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}
_TEX_SYMBOLS = {"±": r"$\pm$", "Δ": r"$\Delta$", "γ": r"$\gamma$", "†": r"$\dagger$", "–": "--", "−": "$-$",
                "…": r"\dots{}"}


def tex_escape(text: str) -> str:
    out = "".join(_TEX_ESCAPES.get(ch, ch) for ch in str(text))
    for sym, tex in _TEX_SYMBOLS.items():
        out = out.replace(sym, tex)
    return out


def to_latex(t: Table) -> str:
    display = t.display.map(tex_escape)
    display.columns = [tex_escape(c) for c in display.columns]
    body = tabulate(display, headers="keys", tablefmt="latex_raw", showindex=False, disable_numparse=True)
    notes = "\n".join(f"% {n}" for n in t.notes)
    return f"% {t.title}\n{notes}\n{body}\n"


def to_csv(t: Table) -> str:
    extra = [c for c in t.tidy.columns if c not in TIDY_COLUMNS and c != "system"]
    cols = [c for c in TIDY_COLUMNS if c in t.tidy.columns] + extra
    return t.tidy[cols].to_csv(index=False, lineterminator="\n", float_format="%.6g")


def write_tables(tables: list[Table], out: Path, formats=("md", "tex", "csv")) -> list[Path]:
    written = []
    render = {"md": to_markdown, "tex": to_latex, "csv": to_csv}
    for fmt in formats:
        if fmt not in render:
            raise ValueError(f"--format: unknown format {fmt!r}, expected some of {sorted(render)}")
    for t in tables:
        for fmt in formats:
            path = out / f"{t.name}.{fmt}"
            write_text(path, render[fmt](t))
            written.append(path)
    if "md" in formats and tables:
        index = "# zssar-bench results\n\nGenerated by `zssar report` from result.json files; do not edit.\n\n"
        index += "\n".join(to_markdown(t) for t in tables)
        write_text(out / "index.md", index)
        written.append(out / "index.md")
    return written


# --------------------------------------------------------------------------------------
# the whole report
# --------------------------------------------------------------------------------------
def make_report(results: str | Path | None = None, out: str | Path | None = None, datasets=None,
                formats=("md", "tex", "csv"), figures: bool = True, digits: int = 1) -> list[Path]:
    """Read every result.json, write all tables (and figures) into `out`; returns the files written."""
    from zssar import paths
    from zssar.report.figures import build_figures

    root = store.runs_root(results)
    base = Path(results) if results else paths.results_dir()
    out = Path(out) if out else (base.parent if base.name == "runs" else base) / "tables"
    df = store.for_tables(store.load_results(results))
    if datasets:
        unknown = sorted(set(datasets) - set(df["dataset"]))
        if unknown:
            log.warning("no complete runs for dataset(s) %s", ", ".join(unknown))
        df = df[df["dataset"].isin(datasets)].reset_index(drop=True)
    if df.empty:
        raise FileNotFoundError(f"no complete runs found under {root} (run `zssar bench` first)")
    tables = build_tables(df, digits)
    written = write_tables(tables, out, formats)
    if figures:
        written += build_figures(prepare(df), root, out)
    return written
