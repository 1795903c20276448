"""Notifications: a transactional outbox, one delivery worker per database, channel plugins."""
