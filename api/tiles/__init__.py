"""Vector and raster tiles: the never-stale cache, the tile service and raster surfaces."""
