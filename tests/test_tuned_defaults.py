"""Dataset defaults adopted from `zssar tune` must be exactly what the tuning record chose.

A record (results/tuned/<dataset>/<method>.yaml, or <method>.<topic>.yaml for a later grid
over other keys) is the evidence behind a method's defaults for <dataset>; this keeps the code
and the evidence from drifting apart. Every record must still hold for today's defaults.
"""
from pathlib import Path

import pytest
import yaml

from methods.base import apply_overrides
from methods.registry import get_method
from zssar.tune import choose

TUNED = Path(__file__).resolve().parents[1] / "results" / "tuned"
RECORDS = sorted(TUNED.glob("*/*.yaml"))


@pytest.mark.parametrize("record_path", RECORDS, ids=[f"{p.parent.name}/{p.stem}" for p in RECORDS])
def test_dataset_defaults_match_the_tuning_record(record_path):
    text = record_path.read_text()
    assert "&id" not in text, f"{record_path}: YAML aliases make the record hard to read"
    record = yaml.safe_load(text)
    method = record_path.name.split(".")[0]
    assert record["dataset"] == record_path.parent.name and record["method"] == method
    assert record["metric"] in ("val_zsl", "val_h") and record["points"], record_path
    # the choice follows the record's own rule: highest mean (records before the margin rule),
    # or the default unless the best point's paired gain clears margin_se standard errors
    margin = record.get("margin_se", 0.0)
    reference = next((j for j, p in enumerate(record["points"]) if p["overrides"] == record.get("default")), 0)
    chosen, _ = choose(record["points"], reference, margin)
    assert record["chosen"] == record["points"][chosen]["overrides"], \
        f"{record_path}: the chosen point is not the one its rule (margin_se={margin}) picks"
    cls = get_method(record["method"])
    default = cls.default_config(record["dataset"])
    wanted = apply_overrides(default, {**record["base_overrides"], **record["chosen"]}, record["method"])
    assert default == wanted, (f"{cls.__name__}.DATASET_DEFAULTS[{record['dataset']!r}] disagrees with "
                               f"{record_path.name}: chosen {record['chosen']}")


def test_every_tunable_method_has_a_synthetic_record():
    # the CPU defaults of every method with hyper-parameters were selected by `zssar tune`;
    # a new method (or a removed record) must show its selection evidence
    import dataclasses

    from methods.registry import METHODS
    tunable = {name for name in METHODS if dataclasses.fields(get_method(name).Config)}
    recorded = {p.name.split(".")[0] for p in (TUNED / "synthetic").glob("*.yaml")}
    assert tunable <= recorded, f"no tuning record for {sorted(tunable - recorded)}"
