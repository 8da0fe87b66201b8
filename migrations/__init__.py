"""Alembic migrations: the only way Biowire's schema is created or changed."""
