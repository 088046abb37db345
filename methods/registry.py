"""The method registry: name -> "module:Class", resolved only when a method is used.

Add a method: write `methods/<name>.py` with a `Method` subclass and add one line here
(or declare an entry point in the `zssar.methods` group of your own package).
"""
from __future__ import annotations

import importlib
from importlib.metadata import entry_points

METHODS: dict[str, str] = {
    "chance": "methods.baselines:Chance",
    "linear": "methods.baselines:Linear",
    "star": "methods.star:STAR",
    "neuron": "methods.neuron:Neuron",
    "skeletoncontext": "methods.skeletoncontext:SkeletonContext",
    "scople": "methods.scople:SCoPLe",
}

ENTRY_POINT_GROUP = "zssar.methods"


def all_methods() -> dict[str, str]:
    """Built-in methods plus those installed through the `zssar.methods` entry point group."""
    found = dict(METHODS)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        found.setdefault(ep.name, ep.value)
    return found


def get_method(name: str):
    known = all_methods()
    if name not in known:
        from zssar.data.registry import unknown_name_error
        raise unknown_name_error("method", name, known)
    module, _, attr = known[name].partition(":")
    try:
        cls = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as e:
        raise ImportError(f"method {name!r}: cannot load {known[name]!r}: {e}") from e
    return cls


def available_methods() -> list[str]:
    """Registered methods whose module exists (skips plugins still being written)."""
    import importlib.util
    out = []
    for name, target in all_methods().items():
        module = target.partition(":")[0]
        try:
            if importlib.util.find_spec(module) is not None:
                out.append(name)
        except ModuleNotFoundError:
            pass
    return out
