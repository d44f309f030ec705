"""warning rule indexes: a grid's and a category's reports over a span, counted in the index

The surge rules count, for every new incident, its grid's and its category's reports in the last
24 hours and in the 28 days before (the daily mean), without drills and merged duplicates. With
the single-column indexes that meant visiting every incident of the 29 days (tens of thousands
at a million incidents) or every incident of the grid or category ever. These two indexes hold
(grid or category, created_at) with the two columns the count leaves out, so each count is one
range of one index on both backends, never the table. db.models declares them too
(``ix_incident_grid_created``, ``ix_incident_category_created``).

Revision ID: 0021
Revises: 0014
Create Date: 2026-12-04 18:00:00
"""
from __future__ import annotations

from alembic import op

revision = "0021"
down_revision = "0016"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_incident_grid_created": ["grid_id", "created_at", "is_drill", "merged_into_id"],
    "ix_incident_category_created": ["category", "created_at", "is_drill", "merged_into_id"],
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "incident", columns, if_not_exists=True)
    op.execute("ANALYZE incident")


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="incident", if_exists=True)
