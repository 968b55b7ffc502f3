"""Cluster database: models, engine/session factories, migrations."""
