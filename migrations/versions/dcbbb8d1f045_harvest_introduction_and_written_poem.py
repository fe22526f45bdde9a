"""harvest: an introduction and a written poem with its title and credit

Revision ID: dcbbb8d1f045
Revises: 4f7c2d9e1b35
Create Date: 2026-12-02 07:22:43

"""

import sqlalchemy as sa
from alembic import op

revision = "dcbbb8d1f045"
down_revision = "4f7c2d9e1b35"
branch_labels = None
depends_on = None

COLUMNS = (
    ("harvest_introduction", sa.Text()),
    ("written_poem_title", sa.String(length=200)),
    ("written_poem", sa.Text()),
    ("written_poem_credit", sa.String(length=200)),
)


def upgrade():
    with op.batch_alter_table("event", schema=None) as batch_op:
        for name, kind in COLUMNS:
            batch_op.add_column(sa.Column(name, kind, server_default="", nullable=False))


def downgrade():
    with op.batch_alter_table("event", schema=None) as batch_op:
        for name, _kind in reversed(COLUMNS):
            batch_op.drop_column(name)
