"""Anomaly alerts (网格异动预警) computed on a schedule, stored, notified and acknowledged."""
