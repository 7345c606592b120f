"""Cutout's business core: entities, value objects, use cases and ports. Pure Python."""
