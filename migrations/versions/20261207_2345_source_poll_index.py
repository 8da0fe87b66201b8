"""An index on `sources.last_polled_at`: the newest poll of all is part of the data's
version (`models.queries.data_version`), which every request asks before it reuses a
view, and the sources page shows each poll's outcome. Without the index the question
reads every source; with it, one index lookup, as the version's other two parts are.

Revision ID: 20261207_2345_source_poll_index
Revises: 20261207_1900_full_text_search
Create Date: 2026-12-07 23:45:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "20261207_2345_source_poll_index"
down_revision: str | None = "20261207_1900_full_text_search"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Not batch mode: on SQLite that would rebuild the table for an index it can add as is.
    op.create_index("ix_sources_last_polled_at", "sources", ["last_polled_at"])


def downgrade() -> None:
    op.drop_index("ix_sources_last_polled_at", "sources")
