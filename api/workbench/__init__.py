"""The staff workbench: the dispatcher's queue, live updates, the case page, the handler's inbox."""
