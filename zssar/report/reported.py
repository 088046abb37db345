"""Paper-reported numbers: the project's data file, and matching our runs to its rows.

`results/reported/reported_results.csv` holds one row per number a paper printed, with
its citation. Columns (see results/reported/README.md):

    method, dataset, protocol, split, benchmark, metric, value, reported_by, citation, table,
    verification, verification_detail, setting, note

The file is generated from the reference compilation in ``../shared/reported`` by

    python -m zssar.report.reported build [--source YAML] [--out CSV]

Paper GZSL numbers come from protocols that tune γ on the test set, so they are compared
with our ``oracle.gzsl_*`` metrics, never with the honest ones.
"""
from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from zssar import paths

COLUMNS = ["method", "dataset", "protocol", "split", "benchmark", "metric", "value", "reported_by",
           "citation", "table", "verification", "verification_detail", "setting", "note"]
PAPER_METRICS = ("zsl_top1", "gzsl_seen", "gzsl_unseen", "gzsl_h")
VERIFICATION_RANK = {"primary": 0, "secondary": 1, "aggregator": 2}

# our metric -> the paper metric it is compared with (paper GZSL = γ tuned on test = oracle)
OURS_TO_PAPER = {"zsl_top1": "zsl_top1", "oracle.gzsl_seen": "gzsl_seen",
                 "oracle.gzsl_unseen": "gzsl_unseen", "oracle.gzsl_h": "gzsl_h"}

# the paper that printed a number -> its citation (facts from ../shared/reported/README.md)
CITATIONS = {
    "skeletoncontext": 'N. Wang et al., "SkeletonContext: Skeleton-side Context Prompt Learning for Zero-Shot '
                       'Skeleton-based Action Recognition", CVPR 2026, arXiv:2603.29692',
    "neuron": "Y. Chen, J. Guo, S. Guo, D. Tao, Neuron, CVPR 2025, arXiv:2411.11288",
    "scople": "A. Zhu, J. Zhu, J. Bailey, M. Gong, Q. Ke, SCoPLe, CVPR 2025, pp. 13876-13885",
    "star": "Y. Chen, J. Guo, T. He, L. Wang, STAR, ACM MM 2024, pp. 778-786",
    "purls": "A. Zhu, Q. Ke, M. Gong, J. Bailey, PURLS, CVPR 2024, arXiv:2406.13327",
    "smie": "Y. Zhou et al., SMIE, ACM MM 2023",
    "synse": "P. Gupta, D. Sharma, R. K. Sarvadevabhatla, SynSE, ICIP 2021",
    "sa_dvae": "S.-W. Li et al., SA-DVAE, ECCV 2024",
    "fs_vae": "W. Wu et al., FS-VAE, ICCV 2025, arXiv:2506.22179",
    "tdsm": "J. Do, M. Kim, TDSM, ICCV 2025, arXiv:2411.10745",
    "pgfa": "K. Zhou et al., PGFA, IEEE TIP 2025, arXiv:2507.00566",
    "flora": "Flora, CVPR 2026 Findings (cited from a paper note; no bibliographic record in the source)",
}

# names in the reference compilation -> the project's dataset names
DATASET_NAMES = {"ntu60": "ntu60", "ntu120": "ntu120", "pkummd1": "pku_mmd1", "pku_mmd1": "pku_mmd1"}
PROTOCOL_ALIASES = {
    "xsub": ("xsub", "cross_subject", "cross-subject", "csub", "cs"),
    "xview": ("xview", "cross_view", "cross-view", "cv"),
    "xset": ("xset", "cross_setup", "cross-setup", "cross_set", "cset"),
}
OFFICIAL_PROTOCOLS = {"ntu60": ("xsub", "xview"), "ntu120": ("xsub", "xset"), "pku_mmd1": ("xsub", "xview")}

# The six SynSE class lists every later paper uses (0-based; ../shared/README.md). A run is
# on the STAR/Neuron benchmark only if its unseen list is exactly one of these.
CANONICAL_UNSEEN = {
    ("ntu60", "55/5"): (10, 11, 19, 26, 56),
    ("ntu60", "48/12"): (3, 5, 9, 12, 15, 40, 42, 47, 51, 56, 58, 59),
    ("ntu120", "110/10"): (4, 13, 37, 43, 49, 65, 88, 95, 99, 106),
    ("ntu120", "96/24"): (5, 9, 11, 16, 18, 20, 22, 29, 35, 39, 45, 49, 59, 68, 70, 81, 84, 87, 93, 94,
                          104, 113, 114, 119),
    ("pku_mmd1", "46/5"): (1, 9, 20, 34, 50),
    ("pku_mmd1", "39/12"): (3, 7, 11, 15, 19, 21, 25, 31, 33, 36, 43, 48),
}


def default_path() -> Path:
    # part of the repository (not of a results folder that ZSSAR_RESULTS may redirect)
    return paths.REPO_ROOT / "results" / "reported" / "reported_results.csv"


def shared_source() -> Path:
    return paths.shared_dir() / "reported" / "reported_results.yaml"


# --------------------------------------------------------------------------------------
# building the data file from the reference compilation
# --------------------------------------------------------------------------------------
def convert(entries: list[dict], source: str = "reported_results.yaml") -> pd.DataFrame:
    """One compilation entry (up to four numbers) -> one row per printed number."""
    rows = []
    for i, e in enumerate(entries):
        where = f"{source}: entry {i + 1}"
        for key in ("method", "source", "reported_by", "dataset", "benchmark", "verification"):
            if not e.get(key):
                raise ValueError(f"{where}: field {key!r} missing or empty")
        if e["dataset"] not in DATASET_NAMES:
            raise ValueError(f"{where}: field 'dataset' is {e['dataset']!r}, expected one of {sorted(DATASET_NAMES)}")
        if e["reported_by"] not in CITATIONS:
            raise ValueError(f"{where}: no citation known for reported_by {e['reported_by']!r}")
        for metric in PAPER_METRICS:
            value = e.get(metric)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{where}: field {metric!r} is {value!r}, expected a number or null")
            rows.append({
                "method": e["method"], "dataset": DATASET_NAMES[e["dataset"]], "protocol": e.get("protocol") or "",
                "split": e.get("split") or "", "benchmark": e["benchmark"], "metric": metric, "value": float(value),
                "reported_by": e["reported_by"], "citation": CITATIONS[e["reported_by"]], "table": e["source"],
                "verification": e["verification"], "verification_detail": e.get("verification_detail") or "",
                "setting": e.get("setting") or "", "note": e.get("note") or "",
            })
    return pd.DataFrame(rows, columns=COLUMNS)


def build(source: Path | None = None, out: Path | None = None) -> pd.DataFrame:
    import yaml

    from zssar.io import atomic_path
    source = Path(source or shared_source())
    if not source.is_file():
        raise FileNotFoundError(f"{source}: reference compilation not found (set ZSSAR_SHARED or pass --source)")
    entries = yaml.safe_load(source.read_text())
    if not isinstance(entries, list):
        raise ValueError(f"{source}: expected a list of entries at the top level")
    df = convert(entries, source.name)
    out = Path(out or default_path())
    with atomic_path(out) as tmp:
        df.to_csv(tmp, index=False, lineterminator="\n")
    return df


# --------------------------------------------------------------------------------------
# reading and matching
# --------------------------------------------------------------------------------------
def load(path: Path | None = None) -> pd.DataFrame:
    """The reported-results file, checked; an empty frame when it does not exist."""
    path = Path(path or default_path())
    if not path.is_file():
        return pd.DataFrame(columns=COLUMNS)
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"{path}: columns {missing} missing (expected {COLUMNS})")
    values = pd.to_numeric(df["value"], errors="coerce")
    bad = values.isna()
    if bad.any():
        line = int(bad.to_numpy().argmax()) + 2  # + header, 1-based
        raise ValueError(f"{path}: line {line}: field 'value' is {df['value'][bad].iloc[0]!r}, expected a number")
    bad_metric = ~df["metric"].isin(PAPER_METRICS)
    if bad_metric.any():
        line = int(bad_metric.to_numpy().argmax()) + 2
        raise ValueError(f"{path}: line {line}: field 'metric' is {df['metric'][bad_metric].iloc[0]!r}, "
                         f"expected one of {PAPER_METRICS}")
    df["value"] = values
    return df


def normalize_protocol(protocol: str | None) -> str:
    p = (protocol or "").strip().lower()
    for canonical, aliases in PROTOCOL_ALIASES.items():
        if p in aliases:
            return canonical
    return p


def split_label(dataset: str, name: str | None, unseen=None, num_seen: int | None = None) -> str:
    """The papers' "seen/unseen" label of a split (``ntu60_55_5`` -> ``55/5``).

    Prefers class counts when known; otherwise reads a trailing ``<seen>_<unseen>`` from the name.
    """
    if unseen is not None and num_seen is not None and len(unseen):
        return f"{num_seen}/{len(unseen)}"
    m = re.search(r"(\d+)[_/-](\d+)$", name or "")
    return f"{m.group(1)}/{m.group(2)}" if m else ""


def benchmark_of(dataset: str, protocol: str | None, label: str, unseen=None, family: str | None = None) -> str:
    """Which paper benchmark setting a run of ours corresponds to ("" if none).

    - the official train/test partition of NTU-60/120 or PKU-MMD I with one of the six SynSE
      class lists -> ``star_official`` (STAR / Neuron / SkeletonContext tables);
    - a family of random seen/unseen re-partitions under an official partition ->
      ``random3_avg`` (Neuron Table 5, the SMIE idea on the official partition).
    """
    protocol = normalize_protocol(protocol)
    if protocol not in OFFICIAL_PROTOCOLS.get(dataset, ()):
        return ""
    if family:
        return "random3_avg"
    canonical = CANONICAL_UNSEEN.get((dataset, label))
    if canonical is None:
        return ""
    if unseen is not None and tuple(sorted(int(c) for c in unseen)) != canonical:
        return ""
    return "star_official"


@dataclass(frozen=True)
class PaperNumber:
    value: float
    reported_by: str
    table: str
    citation: str
    verification: str
    note: str


def lookup(reported: pd.DataFrame, *, method: str, dataset: str, protocol: str, split: str, benchmark: str,
           metric: str, prefer: tuple[str, ...] = ()) -> PaperNumber | None:
    """The paper number for this method and setting, or None.

    Matches method, dataset, benchmark, split and protocol exactly (rows without a protocol
    match any protocol only for benchmarks that have none). When several papers printed a
    number, the choice is: a paper in `prefer` (e.g. the paper whose table layout is being
    reproduced), then the method's own paper, then the best verification level.
    """
    if not benchmark or reported.empty:
        return None
    hit = reported[(reported["method"] == method) & (reported["dataset"] == dataset)
                   & (reported["benchmark"] == benchmark) & (reported["split"] == split)
                   & (reported["metric"] == metric)
                   & (reported["protocol"].map(normalize_protocol) == normalize_protocol(protocol))]
    if hit.empty:
        return None

    def rank(row) -> tuple:
        pref = prefer.index(row.reported_by) if row.reported_by in prefer else len(prefer)
        return (pref, row.reported_by != method, VERIFICATION_RANK.get(row.verification, 9))

    best = min(hit.itertuples(index=False), key=rank)
    return PaperNumber(float(best.value), best.reported_by, best.table, best.citation, best.verification, best.note)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m zssar.report.reported",
                                     description="build results/reported/reported_results.csv")
    sub = parser.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="convert ../shared/reported/reported_results.yaml")
    b.add_argument("--source", type=Path, default=None)
    b.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    df = build(args.source, args.out)
    print(f"wrote {len(df)} numbers from {df.groupby(['reported_by', 'table']).ngroups} source tables "
          f"to {args.out or default_path()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
