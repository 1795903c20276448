"""Grid layers as versioned maps: a new version is uploaded, checked, repaired, published."""
