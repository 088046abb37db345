"""`synthetic`: the embedded default dataset, generated deterministically by our own code.

Every class is a composition of attributes: which limb moves (left/right/both arms,
left/right leg, torso, head), what motion it makes (wave, circle, punch, raise, kick,
swing, bend, twist, nod), the posture (standing/sitting), the tempo (slow/fast) and the
number of persons. Skeletons come from forward kinematics on the NTU-25 tree
(`synthetic_motion`); class names and every text source are written from the same
composition (`synthetic_text`), so text carries real information about unseen classes.

Classes come in *twin groups*: the same limb and motion in another posture (or, for both
arms, another tempo). A twin is trivially easy to recognise once its sibling is seen, so
the split family `splits/synthetic_default.yaml` holds out twin groups whole and labels
each unseen class with a novelty tier. Regenerate it with

    python -m zssar.data.synthetic --write-splits

and time the data generation with ``python -m zssar.data.synthetic --generate DIR``.
"""
from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from zssar import paths
from zssar.data import synthetic_motion as motion
from zssar.data.dataset import MANIFEST, PreparedWriter, Sample
from zssar.io import read_json, sha256_json, write_json, write_text

NAME = "synthetic"
LAYOUT = "ntu25"
# Bump whenever the generator's skeletons change (kinematics, classes, defaults). Text-only
# changes need no bump: the text's hash is part of every run key (zssar.text.packs.text_sha256).
GENERATOR_VERSION = "synthetic-1"
GENERATOR_STAMP = "generator.json"  # identity of the generation that wrote a folder
PROTOCOLS = {"xsub": "cross-subject: subjects 1-5 train, 6-8 test"}
DEFAULT_PROTOCOL = "xsub"
DEFAULT_SPLIT = "synthetic_default"
TRAIN_SUBJECTS = (1, 2, 3, 4, 5)
META_FIELDS = ("subject", "setup", "camera", "replication")


@dataclass(frozen=True)
class SyntheticConfig:
    """Every knob of the generator (the defaults define the shipped dataset)."""
    seed: int = 20240607
    subjects: int = 8
    camera_yaws_deg: tuple[float, ...] = (-45.0, 0.0, 45.0)  # one camera per entry, like NTU
    replications: int = 1
    min_frames: int = 40
    max_frames: int = 80
    frames_slow: int = 68            # typical length of a slow action before subject speed
    frames_fast: int = 52
    jitter_m: float = 0.01           # Gaussian joint noise (metres), Kinect-like
    view_yaw_jitter_deg: float = 6.0
    setups: tuple[tuple[float, float], ...] = ((1.0, 3.0), (1.3, 3.4))  # (camera height, distance) m
    shard_size: int = 256

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


# -- the classes ---------------------------------------------------------------------------
@dataclass(frozen=True)
class ClassSpec:
    """The composition a class is built from (and that its text is written from)."""
    id: int
    name: str
    limb: str         # left_arm, right_arm, both_arms, left_leg, right_leg, torso, head
    motion: str       # wave, circle, punch, raise, kick, swing, bend, twist, nod, handshake, push
    posture: str      # standing | sitting
    tempo: str        # slow | fast
    persons: int      # 1 or 2
    group: str        # twin group: classes differing only in posture/tempo share it
    twin_ids: tuple[int, ...] = ()
    mirror_id: int | None = None   # same motion/posture/tempo on the other side of the body
    environment: str = ""          # plausible context (SkeletonContext prompts)
    object: str = ""
    target: str = ""

    @property
    def lateral(self) -> bool:
        return self.limb.startswith(("left_", "right_"))


# Single-person (limb, motion) pairs; each yields a twin group of two classes.
SINGLE_PAIRS = (
    ("left_arm", "wave"), ("right_arm", "wave"), ("left_arm", "circle"), ("right_arm", "circle"),
    ("left_arm", "punch"), ("right_arm", "punch"), ("left_arm", "raise"), ("right_arm", "raise"),
    ("both_arms", "wave"), ("both_arms", "raise"),
    ("left_leg", "kick"), ("right_leg", "kick"), ("left_leg", "swing"), ("right_leg", "swing"),
    ("torso", "bend"), ("torso", "twist"), ("head", "nod"),
)
# Each motion has a natural tempo; the both-arms twins differ in tempo instead of posture.
NATURAL_TEMPO = {"wave": "fast", "circle": "slow", "punch": "fast", "raise": "slow", "kick": "fast",
                 "swing": "slow", "bend": "slow", "twist": "slow", "nod": "fast"}
# Two-person interactions: (motion, acting limb of person A, tempo).
INTERACTIONS = (("handshake", "right_arm", "slow"), ("push", "both_arms", "fast"),
                ("punch", "right_arm", "fast"), ("kick", "right_leg", "fast"))

CONTEXT = {  # motion -> (environment, object, target)
    "wave": ("in a park", "an empty hand", "a friend far away"),
    "circle": ("in a gym", "an empty hand", "the air beside the body"),
    "punch": ("in a boxing gym", "a punching bag", "a target in front of the chest"),
    "raise": ("in a classroom", "an empty hand", "the ceiling"),
    "kick": ("on a football pitch", "a ball", "a ball in front of the feet"),
    "swing": ("in a gym", "a resistance band", "the space in front of and behind the body"),
    "bend": ("in a yoga studio", "a mat", "the floor"),
    "twist": ("in a yoga studio", "a mat", "the walls on either side"),
    "nod": ("in an office", "nothing", "a person asking a question"),
}
CONTEXT_2P = {
    "handshake": ("in an office lobby", "the other person's hand", "towards the other person"),
    "push": ("in a school yard", "the other person's chest", "towards the other person"),
    "punch": ("in a street fight", "a clenched fist", "the other person's face"),
    "kick": ("in a street fight", "a shoe", "the other person's stomach"),
}


def _build_specs() -> list[ClassSpec]:
    from zssar.data.synthetic_text import class_name
    rows = []
    for limb, mot in SINGLE_PAIRS:
        group = f"{limb}.{mot}"
        env, obj, tgt = CONTEXT[mot]
        if limb == "both_arms":
            variants = [("standing", "slow"), ("standing", "fast")]
        else:
            variants = [("standing", NATURAL_TEMPO[mot]), ("sitting", NATURAL_TEMPO[mot])]
        for posture, tempo in variants:
            rows.append(dict(limb=limb, motion=mot, posture=posture, tempo=tempo, persons=1, group=group,
                             environment=env, object="a chair" if posture == "sitting" else obj, target=tgt))
    for mot, limb, tempo in INTERACTIONS:
        env, obj, tgt = CONTEXT_2P[mot]
        rows.append(dict(limb=limb, motion=mot, posture="standing", tempo=tempo, persons=2,
                         group=f"two_person.{mot}", environment=env, object=obj, target=tgt))
    specs = []
    for i, r in enumerate(rows):
        twins = tuple(j for j, o in enumerate(rows) if j != i and o["group"] == r["group"])
        mirror = None
        if r["persons"] == 1 and r["limb"].startswith(("left_", "right_")):
            other = ("right_" if r["limb"].startswith("left_") else "left_") + r["limb"].split("_", 1)[1]
            mirror = next(j for j, o in enumerate(rows) if o["persons"] == 1 and o["limb"] == other
                          and o["motion"] == r["motion"] and o["posture"] == r["posture"])
        spec = ClassSpec(id=i, name="", twin_ids=twins, mirror_id=mirror, **r)
        specs.append(dataclasses.replace(spec, name=class_name(spec)))
    return specs


CLASS_SPECS: list[ClassSpec] = _build_specs()
CLASS_NAMES: list[str] = [s.name for s in CLASS_SPECS]


def text_sources() -> dict[str, list[list[str]]]:
    """Per-class sentences for every standard source except names/templates (see packs.py)."""
    from zssar.data.synthetic_text import all_sources
    return all_sources(CLASS_SPECS)


# -- dataset module API ----------------------------------------------------------------------
GENERATED = Path("<generated>")  # sentinel raw path: there is no raw data to find


def default_raw() -> Path:
    return GENERATED


def train_mask(meta: pd.DataFrame, protocol: str) -> np.ndarray:
    if protocol != "xsub":
        raise KeyError(f"synthetic: unknown protocol {protocol!r}; known: {sorted(PROTOCOLS)}")
    return meta["subject"].isin(TRAIN_SUBJECTS).to_numpy()


def generator_identity(cfg: SyntheticConfig) -> dict:
    """Version + config, JSON-normalised (tuples as lists) so it compares equal to its stored copy."""
    return json.loads(json.dumps({"version": GENERATOR_VERSION, "config": cfg.to_dict()}))


def prepare(raw: Path | None, out: Path, *, skip_bad: bool = False, **kw) -> dict:
    """Generate the dataset into `out` (raw and skip_bad are ignored: nothing is read).

    Keyword arguments override `SyntheticConfig` fields (e.g. seed=1, subjects=2).
    Resumes an interrupted generation of the same generator version and config; a folder
    holding another version's output is regenerated.
    """
    cfg = SyntheticConfig(**kw)
    out = Path(out)
    identity = generator_identity(cfg)
    stamp = out / GENERATOR_STAMP
    if stamp.is_file() and read_json(stamp) == identity:
        if (out / MANIFEST).is_file():
            return read_json(out / MANIFEST)
    else:
        _clear(out)  # written by another generator version/config (or unknown): start again
    out.mkdir(parents=True, exist_ok=True)
    write_json(stamp, identity)
    writer = PreparedWriter(
        out, name=NAME, class_names=CLASS_NAMES, layout=LAYOUT, meta_fields=META_FIELDS,
        source_sha256=sha256_json(identity), shard_size=cfg.shard_size,
        extra={"synthetic": True, "generator": identity})
    todo = [k for k in sample_keys(cfg) if sample_id(*k) not in writer.done_ids]
    subjects = make_subjects(cfg)
    for key in tqdm(todo, desc="generating synthetic", unit="sample"):
        writer.add(generate_sample(key, subjects, cfg))
    return writer.close()


def is_current(folder: Path) -> bool:
    """Was `folder` generated by this generator version? (`load_dataset` regenerates if not.)"""
    stamp = Path(folder) / GENERATOR_STAMP
    return stamp.is_file() and read_json(stamp).get("version") == GENERATOR_VERSION


def _clear(out: Path) -> None:
    """Remove only the files a generation writes (never anything else in the folder)."""
    for pattern in ("shard-*.joints.npy", "shard-*.index.npz", MANIFEST, "excluded.json", GENERATOR_STAMP):
        for p in out.glob(pattern):
            p.unlink()


# -- generation --------------------------------------------------------------------------------
def sample_keys(cfg: SyntheticConfig) -> list[tuple[int, int, int, int]]:
    """(class, subject, camera, replication), 1-based except class; the order samples are written."""
    return [(c, s, cam, r) for c in range(len(CLASS_SPECS)) for s in range(1, cfg.subjects + 1)
            for cam in range(1, len(cfg.camera_yaws_deg) + 1) for r in range(1, cfg.replications + 1)]


def setup_of(subject: int, replication: int, cfg: SyntheticConfig) -> int:
    return 1 + (subject + replication) % len(cfg.setups)


def sample_id(c: int, s: int, cam: int, r: int) -> str:
    return f"P{s:03d}C{cam:03d}R{r:03d}A{c + 1:03d}"


def make_subjects(cfg: SyntheticConfig) -> list[motion.Subject]:
    return [motion.make_subject(np.random.default_rng([cfg.seed, 1_000_000 + s]))
            for s in range(1, cfg.subjects + 1)]


def generate_sample(key: tuple[int, int, int, int], subjects: list[motion.Subject],
                    cfg: SyntheticConfig) -> Sample:
    """One sample; its own random stream makes it independent of generation order."""
    c, s, cam, r = key
    spec = CLASS_SPECS[c]
    rng = np.random.default_rng([cfg.seed, c, s, cam, r])
    performer = subjects[s - 1]
    partner = subjects[s % len(subjects)]  # the next subject plays person B
    base = cfg.frames_fast if spec.tempo == "fast" else cfg.frames_slow
    frames = int(np.clip(round(base * rng.uniform(0.9, 1.12) / performer.speed), cfg.min_frames, cfg.max_frames))
    setup = setup_of(s, r, cfg)
    height, distance = cfg.setups[setup - 1]
    view = motion.View(yaw_deg=cfg.camera_yaws_deg[cam - 1] + rng.normal(0, cfg.view_yaw_jitter_deg),
                       pitch_deg=rng.normal(0, 3), height=height + rng.normal(0, 0.05),
                       distance=distance + rng.normal(0, 0.1))
    joints = motion.perform(spec, [performer, partner], frames, view, rng, cfg.jitter_m)
    return Sample(sample_id(c, s, cam, r), c, joints,
                  {"subject": s, "setup": setup, "camera": cam, "replication": r})


# -- the split family --------------------------------------------------------------------------
TIERS = ("mirrored_limb", "new_pair", "new_motion", "two_person")
FAMILY_SEED = 7
FAMILY_SIZE = 12
UNSEEN_GROUPS, UNSEEN_INTERACTIONS = 3, 2    # unseen: 3 twin groups + 2 two-person classes (8/38)
VALIDATION_GROUPS = 2                          # validation: 2 twin groups + 1 two-person class


def groups(specs: list[ClassSpec] = CLASS_SPECS) -> dict[str, tuple[int, ...]]:
    out: dict[str, list[int]] = {}
    for s in specs:
        out.setdefault(s.group, []).append(s.id)
    return {g: tuple(ids) for g, ids in out.items()}


def unseen_tiers(unseen, specs: list[ClassSpec] = CLASS_SPECS) -> dict[int, str]:
    """Novelty tier of each unseen class relative to the seen ones (first rule that applies):

    two_person     a two-person interaction
    mirrored_limb  the same motion/posture on the other side of the body is seen
    new_motion     no seen one-person class performs this motion at all
    new_pair       limb and motion are both seen, never together (mirror not seen either)
    """
    hidden = set(unseen)
    seen = [s for s in specs if s.id not in hidden]
    seen_motions = {s.motion for s in seen if s.persons == 1}
    tiers = {}
    for c in sorted(hidden):
        s = specs[c]
        if s.persons == 2:
            tiers[c] = "two_person"
        elif s.mirror_id is not None and s.mirror_id not in hidden:
            tiers[c] = "mirrored_limb"
        elif s.motion not in seen_motions:
            tiers[c] = "new_motion"
        else:
            tiers[c] = "new_pair"
    return tiers


def twin_violations(unseen, specs: list[ClassSpec] = CLASS_SPECS) -> list[int]:
    """Unseen classes with a twin among the seen classes (must be empty)."""
    hidden = set(unseen)
    return [c for c in sorted(hidden) if any(t not in hidden for t in specs[c].twin_ids)]


def _tier_kinds(held_groups: list[str], world_hidden: set[int], gmap: dict) -> list[str]:
    """Tier of each held-out group when `world_hidden` classes are hidden as well."""
    ids = {c for g in held_groups for c in gmap[g]}
    tiers = unseen_tiers(ids | world_hidden)
    return [tiers[gmap[g][0]] for g in held_groups]


def build_family(seed: int = FAMILY_SEED, size: int = FAMILY_SIZE) -> list[dict]:
    """Members of the default family: balanced, diverse, twin-safe held-out sets.

    Each member holds out UNSEEN_GROUPS whole twin groups plus UNSEEN_INTERACTIONS
    two-person classes (every pair of them takes its turn), with at least one mirrored_limb
    and one new_pair group and at most one new_motion group. Validation classes are
    VALIDATION_GROUPS whole twin groups plus one of the other two-person classes, none of
    them new_motion within the validation world. Greedy: among random candidates, take the one whose groups have been held out
    least so far, so every group is unseen (and validation) in about the same number of splits.
    """
    rng = np.random.default_rng(seed)
    gmap = groups()
    single = [g for g in gmap if not g.startswith("two_person.")]
    pairs2 = [g for g in gmap if g.startswith("two_person.")]
    held = {g: 0 for g in gmap}
    validated = {g: 0 for g in gmap}
    pair_turns = list(itertools.combinations(pairs2, UNSEEN_INTERACTIONS))
    members, used = [], set()
    for i in range(size):
        tp = pair_turns[i % len(pair_turns)]
        best = None
        for _ in range(3000):
            ug = sorted(rng.choice(single, UNSEEN_GROUPS, replace=False).tolist())
            kinds = _tier_kinds(ug, {c for g in tp for c in gmap[g]}, gmap)
            if tuple(ug) in used or "mirrored_limb" not in kinds or "new_pair" not in kinds \
                    or kinds.count("new_motion") > 1:
                continue
            cost = sum(held[g] ** 2 for g in ug)
            if best is None or cost < best[0]:
                best = (cost, ug)
        ug = best[1]
        hidden = {c for g in ug + list(tp) for c in gmap[g]}
        others = [g for g in pairs2 if g not in tp]
        vtp = others[i % len(others)]  # one of the remaining two-person classes, taking turns
        rest = [g for g in single if g not in ug]
        best = None
        for _ in range(1000):
            vg = sorted(rng.choice(rest, VALIDATION_GROUPS, replace=False).tolist())
            if "new_motion" in _tier_kinds(vg, hidden | set(gmap[vtp]), gmap):
                continue
            cost = sum(validated[g] ** 2 for g in vg)
            if best is None or cost < best[0]:
                best = (cost, vg)
        vg = best[1]
        used.add(tuple(ug))
        for g in ug + list(tp):
            held[g] += 1
        for g in vg + [vtp]:
            validated[g] += 1
        unseen = sorted(hidden)
        validation = sorted(c for g in vg + [vtp] for c in gmap[g])
        members.append({"name": f"{DEFAULT_SPLIT}_s{i + 1:02d}", "unseen": unseen,
                        "unseen_names": [CLASS_NAMES[c] for c in unseen],
                        "validation_unseen": validation, "tiers": unseen_tiers(unseen)})
    return members


def family_yaml(members: list[dict] | None = None) -> str:
    """The text of splits/synthetic_default.yaml (flow lists keep it readable and diffable)."""
    members = build_family() if members is None else members
    lines = [
        "# Generated by `python -m zssar.data.synthetic --write-splits`; do not edit by hand.",
        "# Twin groups (same limb and motion, other posture/tempo) are held out together;",
        "# tiers: " + ", ".join(TIERS) + " (see zssar.data.synthetic.unseen_tiers).",
        "kind: family",
        f"name: {DEFAULT_SPLIT}",
        f"dataset: {NAME}",
        "version: 1",
        f"num_classes: {len(CLASS_NAMES)}",
        f"provenance: {{generator: zssar.data.synthetic.build_family, generator_version: {GENERATOR_VERSION},"
        f" family_seed: {FAMILY_SEED}}}",
        "members:",
    ]
    for m in members:
        lines += [f"  - name: {m['name']}",
                  f"    unseen: {m['unseen']}",
                  f"    unseen_names: {json.dumps(m['unseen_names'])}",
                  f"    validation_unseen: {m['validation_unseen']}",
                  "    tiers: {" + ", ".join(f"{c}: {t}" for c, t in m["tiers"].items()) + "}"]
    return "\n".join(lines) + "\n"


def family_path() -> Path:
    return paths.splits_dir() / f"{DEFAULT_SPLIT}.yaml"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m zssar.data.synthetic", description=__doc__.split("\n")[0])
    ap.add_argument("--write-splits", action="store_true", help=f"(re)write {family_path()}")
    ap.add_argument("--check-splits", action="store_true", help="fail if the shipped family is out of date")
    ap.add_argument("--generate", metavar="DIR", help="generate the dataset into DIR and report the time")
    ap.add_argument("--seed", type=int, default=SyntheticConfig.seed)
    args = ap.parse_args(argv)
    if args.write_splits:
        write_text(family_path(), family_yaml())
        print(f"wrote {family_path()}")
    if args.check_splits:
        if not family_path().is_file() or family_path().read_text() != family_yaml():
            print(f"{family_path()} is out of date: run python -m zssar.data.synthetic --write-splits")
            return 1
        print(f"{family_path()} is up to date")
    if args.generate:
        out = Path(args.generate)
        if (out / MANIFEST).exists():  # never time (or overwrite) an existing dataset
            print(f"{out} already holds a prepared dataset; give an empty or new folder to time generation")
            return 1
        t0 = time.perf_counter()
        manifest = prepare(GENERATED, out, seed=args.seed)
        print(f"generated {manifest['num_samples']} samples, {manifest['num_classes']} classes into {out} "
              f"in {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
