"""The map layer registry: one typed declaration per layer."""

__all__: list[str] = []
