"""Media the API accepts and serves: photos."""
