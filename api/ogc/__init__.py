"""OGC API Features Part 3 over the layer registry: queryables, CQL2 filters, sorting."""
