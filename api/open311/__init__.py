"""Open311 GeoReport v2: the service, its routes and API keys."""
