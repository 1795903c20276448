"""The leaders' big screen (``/screen``): today's figures, a live map, top categories, rankings."""
