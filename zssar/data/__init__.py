"""Skeleton data: layouts, the in-memory/on-disk dataset form, and per-dataset loaders."""
