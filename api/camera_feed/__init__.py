"""Cameras talking to gridgov: a key per camera, heartbeats that keep its status."""
