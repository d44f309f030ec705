"""incident figures index: the situation's and the assessment's reads over a window, from one index

The situation view (365 days: a third of a million incidents at a million) counts the reports per
local day and category and measures the response times per severity; the monthly assessment reads
a month's incidents. With only ``ix_incident_created_at`` each read stepped through the range and
then fetched every row of the window from the table (a wide row: address, description) for the
handful of columns the figures need. This index holds the recording time first and beside it every
column those reads filter on or measure, so the window is one range of this index alone (an
index-only scan on PostgreSQL, a covering index on SQLite). db.models declares it too
(``ix_incident_created_figures``), so a regenerated initial migration has it and this one then does
nothing.

The audit log gets the index tracing responsibility back reads (who held an incident when its
deadline passed: the audited rows of the month's incidents, by entity and id, in order); without it
each chunk of 500 incidents read the whole log.

Revision ID: 0024
Revises: 0022
Create Date: 2026-12-07 14:20:00
"""
from __future__ import annotations

from alembic import op

revision = "0024"
down_revision = "0022"
branch_labels = None
depends_on = None

FIGURES = ["created_at", "is_drill", "merged_into_id", "status", "severity", "category", "acknowledged_at",
           "dispatched_at", "on_scene_at", "resolved_at"]


def upgrade() -> None:
    op.create_index("ix_incident_created_figures", "incident", FIGURES, if_not_exists=True)
    op.create_index("ix_audit_log_entity", "audit_log", ["entity", "entity_id", "id"], if_not_exists=True)
    op.execute("ANALYZE incident")
    op.execute("ANALYZE audit_log")


def downgrade() -> None:
    op.drop_index("ix_audit_log_entity", table_name="audit_log", if_exists=True)
    op.drop_index("ix_incident_created_figures", table_name="incident", if_exists=True)
