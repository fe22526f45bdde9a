"""contributions: an index for each author's recent count, read with the room's lock

Revision ID: b7e2c4d6f8a1
Revises: a3d5f7c9e1b2
Create Date: 2026-12-03 12:30:00

"""

from alembic import op

revision = "b7e2c4d6f8a1"
down_revision = "a3d5f7c9e1b2"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        "ix_contribution_author_recent",
        "contribution",
        ["event_id", "author_key", "created_at"],
    )


def downgrade():
    op.drop_index("ix_contribution_author_recent", table_name="contribution")
