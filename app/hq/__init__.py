"""Headquarters: the organisation's archive of transferred evidence, on PostgreSQL (tracker #12)."""
