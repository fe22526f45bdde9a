"""harvest: the written poem shown beside or instead of the found poem

Revision ID: a3d5f7c9e1b2
Revises: e7c4a19b2d05
Create Date: 2026-12-03 11:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "a3d5f7c9e1b2"
down_revision = "e7c4a19b2d05"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "written_poem_placement",
                sa.String(length=16),
                server_default="beside",
                nullable=False,
            )
        )


def downgrade():
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.drop_column("written_poem_placement")
