"""Skeleton backbones (Shift-GCN, ST-GCN), seen-only pre-training and the feature cache.

The runner calls `backbone_config(dataset, overrides)` and `get_features(...)`; see
docs/backbones.md.
"""
from zssar.backbones.checkpoint import LeakageError, check_no_leakage, import_upstream, load_checkpoint
from zssar.backbones.config import ARCHS, BackboneConfig, backbone_config, build_model
from zssar.backbones.features import Features, extract_cached, get_features

__all__ = ["ARCHS", "BackboneConfig", "Features", "LeakageError", "backbone_config", "build_model",
           "check_no_leakage", "extract_cached", "get_features", "import_upstream", "load_checkpoint"]
