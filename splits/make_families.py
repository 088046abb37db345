"""Write every split YAML in splits/ from the lists below (the one place they are edited).

    python splits/make_families.py            # rewrite splits/*.yaml (except synthetic_*)
    python splits/make_families.py --check    # exit 1 if a file would change

Fixed splits carry upstream id lists (facts copied from the papers' repositories, with the
file they come from); seeded families (MSR random 15/5, N-UCLA all 7/3 combinations) and
every validation set that upstream does not provide are drawn here with a fixed seed:

    rng = numpy.random.default_rng([SEED, zlib.crc32(<split or family name>)])

Validation ("pseudo-unseen") classes are carved out of the seen classes, for GZSL
calibration. Where SynSE / FS-VAE ship a validation file (rv5_0, rv12_0, rv10_0, rv24_0) it
is used (each is checked disjoint from its unseen set). Otherwise the size equals the
unseen set's, capped at half the seen classes so that the validation world keeps at least
as many seen classes as pseudo-unseen ones (this cap only bites for the 30/30, 60/60 and
N-UCLA 5/5 splits).

Class names come from the dataset modules (zssar.data.<dataset>.CLASS_NAMES). While
zssar.data.ntu does not exist yet, NTU names are read from ../shared (STAR's
ntu120_label.txt) and a warning is printed: re-run once it exists.
"""
from __future__ import annotations

import argparse
import functools
import itertools
import sys
import zlib
from pathlib import Path

import numpy as np
import yaml

HERE = Path(__file__).resolve().parent
SEED = 20240607
VERSION = 1

SYNSE = "Gupta et al., Syntactically Guided Generative Embeddings for Zero-Shot Skeleton Action Recognition, ICIP 2021"
FSVAE = {"repo": "wenhanwu95/FS-VAE", "commit": "c8dc862d6a36a6cbede10474c738a168cb4109ed"}
STAR = {"repo": "cseeyangchen/STAR", "commit": "917ca673162e344f65b50328f2d4d7a1fe58bc7b"}
SMIE = {"paper": "Zhou et al., Zero-shot Skeleton-based Action Recognition via Mutual Information "
                 "Estimation and Maximization, ACM MM 2023",
        "repo": "YujieOuO/SMIE", "commit": "fa41f1d218621ab220c1b2186b513c0bcdee88c6", "file": "config.py"}
PURLS = {"paper": "Zhu et al., Part-aware Unified Representation of Language and Skeleton for "
                  "Zero-shot Action Recognition, CVPR 2024",
         "repo": "azzh1/PURLS", "commit": "7198fe74ac114b37dd93d57a6946034d24ac1aff"}

NUM_CLASSES = {"ntu60": 60, "ntu120": 120, "pku_mmd1": 51, "msr_action3d": 20, "nw_ucla": 10}

# name -> (dataset, unseen ids, upstream validation ids or None, provenance)
FIXED = {
    "ntu60_55_5": ("ntu60", [10, 11, 19, 26, 56], [21, 16, 31, 25, 48], {
        "paper": SYNSE, **FSVAE, "file": "label_splits/ru5.npy",
        "note": "SynSE's list; identical in SynSE's README, STAR, Neuron, SMIE and PURLS",
        "shared_copy": "splits_upstream/fs_vae/ru5.npy",
        "seen_shared_copy": "splits_upstream/fs_vae/rs55.npy",
        "validation": "FS-VAE label_splits/rv5_0.npy (SynSE's GZSL validation classes; disjoint from unseen)",
        "validation_shared_copy": "splits_upstream/fs_vae/rv5_0.npy"}),
    "ntu60_48_12": ("ntu60", [3, 5, 9, 12, 15, 40, 42, 47, 51, 56, 58, 59],
                    [22, 8, 17, 54, 33, 50, 39, 30, 4, 46, 13, 10], {
        "paper": SYNSE, **FSVAE, "file": "label_splits/ru12.npy",
        "note": "SynSE README list (the current one every later paper uses); an older ru12.npy in "
                "SynSE's git history differs and is not used",
        "shared_copy": "splits_upstream/fs_vae/ru12.npy",
        "seen_shared_copy": "splits_upstream/fs_vae/rs48.npy",
        "validation": "FS-VAE label_splits/rv12_0.npy (current copy; disjoint from unseen)",
        "validation_shared_copy": "splits_upstream/fs_vae/rv12_0.npy"}),
    "ntu120_110_10": ("ntu120", [4, 13, 37, 43, 49, 65, 88, 95, 99, 106], [96, 83, 74, 77, 72, 76, 61, 5, 32, 10], {
        "paper": SYNSE, **FSVAE, "file": "label_splits/ru10.npy",
        "shared_copy": "splits_upstream/fs_vae/ru10.npy",
        "seen_shared_copy": "splits_upstream/fs_vae/rs110.npy",
        "validation": "FS-VAE label_splits/rv10_0.npy (disjoint from unseen); its companion rs100_0.npy "
                      "is truncated upstream (81 ids) and not used: seen-minus-validation is derived",
        "validation_shared_copy": "splits_upstream/fs_vae/rv10_0.npy"}),
    "ntu120_96_24": ("ntu120", [5, 9, 11, 16, 18, 20, 22, 29, 35, 39, 45, 49, 59, 68, 70, 81, 84, 87, 93, 94,
                                104, 113, 114, 119],
                     [17, 10, 1, 103, 105, 58, 108, 4, 48, 83, 97, 66, 92, 86, 79, 89, 53, 100, 47, 27, 98, 3, 19, 63], {
        "paper": SYNSE, **FSVAE, "file": "label_splits/ru24.npy",
        "shared_copy": "splits_upstream/fs_vae/ru24.npy",
        "seen_shared_copy": "splits_upstream/fs_vae/rs96.npy",
        "validation": "FS-VAE label_splits/rv24_0.npy (disjoint from unseen)",
        "validation_shared_copy": "splits_upstream/fs_vae/rv24_0.npy"}),
    "pku_mmd1_46_5": ("pku_mmd1", [1, 9, 20, 34, 50], None, {
        "paper": "Chen et al., Fine-Grained Side Information Guided Dual-Prompts for Zero-Shot Skeleton "
                 "Action Recognition (STAR), ACM MM 2024", **STAR, "file": "feeders/feeder_pku.py",
        "note": "pkuv1_seen46_unseen5; also Neuron's and SMIE's split_7",
        "shared_copy": "splits_upstream/splits_summary.json#synse_style_unseen/splits/pkuv1_46_5"}),
    "pku_mmd1_39_12": ("pku_mmd1", [3, 7, 11, 15, 19, 21, 25, 31, 33, 36, 43, 48], None, {
        "paper": "Chen et al., Fine-Grained Side Information Guided Dual-Prompts for Zero-Shot Skeleton "
                 "Action Recognition (STAR), ACM MM 2024", **STAR, "file": "feeders/feeder_pku.py",
        "note": "pkuv1_seen39_unseen12; also Neuron's",
        "shared_copy": "splits_upstream/splits_summary.json#synse_style_unseen/splits/pkuv1_39_12"}),
}
for name, ds, unseen, folder, stem, seen_stem in [
    ("ntu60_40_20", "ntu60", [0, 12, 13, 14, 15, 16, 17, 22, 23, 26, 29, 30, 31, 35, 36, 42, 43, 48, 56, 57],
     "ntu60", "ru20", "rs40"),
    ("ntu60_30_30", "ntu60", [0, 1, 2, 6, 7, 8, 10, 12, 13, 15, 16, 18, 20, 21, 25, 26, 27, 31, 32, 33, 39, 42,
                              45, 47, 48, 51, 52, 55, 58, 59], "ntu60", "ru30", "rs30"),
    ("ntu120_80_40", "ntu120", [11, 12, 18, 22, 23, 26, 28, 34, 37, 38, 42, 44, 46, 47, 48, 57, 59, 64, 66, 70,
                                73, 74, 75, 83, 86, 90, 92, 93, 95, 96, 102, 104, 107, 108, 110, 112, 115, 116,
                                118, 119], "ntu120", "ru40", "rs80"),
    ("ntu120_60_60", "ntu120", [0, 1, 4, 6, 7, 8, 9, 17, 18, 21, 23, 25, 26, 28, 30, 32, 33, 34, 37, 38, 39, 40,
                                41, 42, 44, 45, 50, 51, 52, 53, 56, 61, 62, 65, 67, 68, 69, 70, 74, 77, 78, 81,
                                83, 87, 89, 90, 91, 92, 94, 95, 96, 97, 100, 101, 109, 111, 114, 115, 116, 118],
     "ntu120", "ru60", "rs60"),
    ("nw_ucla_8_2", "nw_ucla", [1, 4], "nw-ucla", "ru2", "rs8"),
    ("nw_ucla_5_5", "nw_ucla", [1, 3, 4, 6, 8], "nw-ucla", "ru5", "rs5"),
]:
    FIXED[name] = (ds, unseen, None, {
        **PURLS, "file": f"supplements/label_splits/{folder}/{stem}.npy",
        "note": "PURLS harder split" if ds != "nw_ucla" else "PURLS N-UCLA split (class order of PURLS' gpt3_desc NW-UCLA sheet = ours)",
        "shared_copy": f"splits_upstream/purls/{folder}/{stem}.npy",
        "seen_shared_copy": f"splits_upstream/purls/{folder}/{seen_stem}.npy"})

# SMIE's random 5- and 10-class splits, kept under their upstream numbers (split_1..9)
SMIE_FAMILIES = {
    "smie_ntu60_random": ("ntu60", "ntu60", {"split_1": [4, 19, 31, 47, 51], "split_2": [12, 29, 32, 44, 59],
                                            "split_3": [7, 20, 28, 39, 58]}),
    "smie_ntu120_random": ("ntu120", "ntu120", {"split_4": [3, 18, 26, 38, 41, 60, 87, 99, 102, 110],
                                               "split_5": [5, 12, 14, 15, 17, 42, 67, 82, 100, 119],
                                               "split_6": [6, 20, 27, 33, 42, 55, 71, 97, 104, 118]}),
    "smie_pku_mmd1_random": ("pku_mmd1", "pku", {"split_7": [1, 9, 20, 34, 50], "split_8": [3, 14, 29, 31, 49],
                                                "split_9": [2, 15, 39, 41, 43]}),
}

MSR_FAMILY, MSR_MEMBERS, MSR_UNSEEN = "msr_action3d_random15_5", 30, 5
UCLA_FAMILY, UCLA_UNSEEN = "nw_ucla_7_3", 3


# -- helpers -------------------------------------------------------------------------------

def rng_for(name: str) -> np.random.Generator:
    return np.random.default_rng([SEED, zlib.crc32(name.encode())])


def validation_size(num_classes: int, num_unseen: int) -> int:
    return min(num_unseen, (num_classes - num_unseen) // 2)


def draw_validation(name: str, num_classes: int, unseen: list[int]) -> list[int]:
    seen = [c for c in range(num_classes) if c not in set(unseen)]
    k = validation_size(num_classes, len(unseen))
    return sorted(int(c) for c in rng_for(name).choice(seen, size=k, replace=False))


@functools.lru_cache(maxsize=None)
def class_names(dataset: str) -> list[str]:
    from zssar.data.registry import dataset_module
    try:
        return list(dataset_module(dataset).CLASS_NAMES)
    except ModuleNotFoundError:
        if not dataset.startswith("ntu"):
            raise
    from zssar import paths
    path = paths.shared_dir() / "semantics" / "star" / "ntu120_label.txt"
    print(f"warning: zssar.data.ntu not available; NTU names read from {path}; re-run once it exists",
          file=sys.stderr)
    names = [l.strip() for l in path.read_text().splitlines() if l.strip()]
    return names[: NUM_CLASSES[dataset]]


def flow(values) -> str:
    return yaml.safe_dump(list(values), default_flow_style=True, width=10_000, allow_unicode=True).strip()


def block(mapping: dict, indent: int) -> str:
    text = yaml.safe_dump(mapping, sort_keys=False, default_flow_style=False, width=100, allow_unicode=True)
    pad = " " * indent
    return "".join(pad + line + "\n" for line in text.splitlines())


def names_comment(ids, names) -> str:
    return "  # " + ", ".join(names[i] for i in ids)


def split_yaml(name: str, dataset: str, unseen: list[int], validation: list[int], provenance: dict,
               names: list[str], title: str) -> str:
    return (f"# {title}\n"
            f"# Generated by splits/make_families.py: edit the lists there, then re-run it.\n"
            f"kind: split\nname: {name}\ndataset: {dataset}\nversion: {VERSION}\n"
            f"num_classes: {len(names)}\n"
            f"unseen: {flow(unseen)}\n"
            f"unseen_names: {flow(names[i] for i in unseen)}\n"
            f"validation_unseen: {flow(validation)}{names_comment(validation, names)}\n"
            f"provenance:\n{block(provenance, 2)}")


def family_yaml(name: str, dataset: str, members: list[tuple[str, list[int], list[int]]], provenance: dict,
                names: list[str], title: str) -> str:
    out = [f"# {title}\n# Generated by splits/make_families.py: edit it there, then re-run it.\n"
           f"kind: family\nname: {name}\ndataset: {dataset}\nversion: {VERSION}\n"
           f"num_classes: {len(names)}\nprovenance:\n{block(provenance, 2)}members:\n"]
    for member, unseen, validation in members:
        out.append(f"  - name: {member}\n"
                   f"    unseen: {flow(unseen)}\n"
                   f"    unseen_names: {flow(names[i] for i in unseen)}\n"
                   f"    validation_unseen: {flow(validation)}{names_comment(validation, names)}\n")
    return "".join(out)


def seeded_note(name: str) -> str:
    return (f"seeded: numpy default_rng([{SEED}, crc32({name!r})]) draws min(#unseen, #seen // 2) "
            f"of the seen classes (no upstream validation file)")


# -- the files -----------------------------------------------------------------------------

def build() -> dict[str, str]:
    files: dict[str, str] = {}
    for name, (dataset, unseen, validation, prov) in FIXED.items():
        names = class_names(dataset)
        prov = dict(prov)
        if validation is None:
            validation = draw_validation(name, len(names), unseen)
            prov["validation"] = seeded_note(name)
        assert not set(validation) & set(unseen), f"{name}: validation overlaps unseen"
        n_seen = len(names) - len(unseen)
        title = f"{dataset}: {n_seen} seen / {len(unseen)} unseen classes ({prov['repo']})"
        files[f"{name}.yaml"] = split_yaml(name, dataset, sorted(unseen), sorted(validation), prov, names, title)

    for family, (dataset, key, members) in SMIE_FAMILIES.items():
        names = class_names(dataset)
        rows = [(m, u, draw_validation(f"{family}/{m}", len(names), u)) for m, u in members.items()]
        prov = {**SMIE, "note": "SMIE's random splits, numbered as upstream",
                "shared_copy": f"splits_upstream/splits_summary.json#smie_random_splits/{key}/<member>",
                "validation": seeded_note(f"{family}/<member>")}
        files[f"{family}.yaml"] = family_yaml(family, dataset, rows, prov, names,
                                              f"{dataset}: SMIE's three random splits")

    names = class_names("msr_action3d")
    rng, rows, drawn = rng_for(MSR_FAMILY), [], set()
    while len(rows) < MSR_MEMBERS:
        unseen = tuple(sorted(int(c) for c in rng.choice(len(names), size=MSR_UNSEEN, replace=False)))
        if unseen in drawn:
            continue
        drawn.add(unseen)
        member = f"r{len(rows):02d}"
        rows.append((member, list(unseen), draw_validation(f"{MSR_FAMILY}/{member}", len(names), list(unseen))))
    files[f"{MSR_FAMILY}.yaml"] = family_yaml(MSR_FAMILY, "msr_action3d", rows, {
        "paper": "zssar-bench (no upstream zero-shot protocol for MSR Action3D)",
        "members": f"{MSR_MEMBERS} distinct random 5-class unseen sets drawn with numpy "
                   f"default_rng([{SEED}, crc32({MSR_FAMILY!r})])",
        "validation": seeded_note(f"{MSR_FAMILY}/<member>")}, names,
        "msr_action3d: 30 seeded random 15 seen / 5 unseen splits")

    names = class_names("nw_ucla")
    rows = []
    for combo in itertools.combinations(range(len(names)), UCLA_UNSEEN):
        member = "u" + "_".join(str(c) for c in combo)
        rows.append((member, list(combo), draw_validation(f"{UCLA_FAMILY}/{member}", len(names), list(combo))))
    files[f"{UCLA_FAMILY}.yaml"] = family_yaml(UCLA_FAMILY, "nw_ucla", rows, {
        "paper": "zssar-bench: every 7 seen / 3 unseen partition of the 10 N-UCLA classes",
        "members": "all C(10,3) = 120 unseen sets, lexicographic order; member uA_B_C has unseen {A,B,C}",
        "validation": seeded_note(f"{UCLA_FAMILY}/<member>")}, names,
        "nw_ucla: all 120 splits with 7 seen / 3 unseen classes")
    return files


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report files that would change")
    parser.add_argument("--out", type=Path, default=HERE, help="folder to write (default: splits/)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(HERE.parent))
    from zssar.io import write_text

    changed = []
    for fname, text in build().items():
        path = args.out / fname
        if not path.is_file() or path.read_text() != text:
            changed.append(fname)
            if not args.check:
                write_text(path, text)
    verb = "would change" if args.check else "written"
    print(f"{len(changed)} split files {verb}: {', '.join(changed) or '-'}")
    return 1 if args.check and changed else 0


if __name__ == "__main__":
    sys.exit(main())
