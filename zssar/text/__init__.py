"""Text side information: encoders (with an on-disk cache) and semantic packs."""
