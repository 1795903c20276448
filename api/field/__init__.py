"""The grid worker's field app: patrol shifts and tracks, plate check-ins, my tasks, supervision."""
