"""Services: the units of work behind the routers and the CLI."""
