"""Method plugins. `methods.registry` maps names to classes without importing them."""
