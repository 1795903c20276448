"""The sample town generator and the small data the product ships."""

__all__: list[str] = []
