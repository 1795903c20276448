"""Analytics: camera coverage and placement, hot spots, anomalies, rasters, result tables."""
