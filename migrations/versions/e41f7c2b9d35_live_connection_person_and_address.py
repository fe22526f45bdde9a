"""live room: person and client address on each connection, for the caps per person and address

Revision ID: e41f7c2b9d35
Revises: dcbbb8d1f045
Create Date: 2026-12-02 07:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "e41f7c2b9d35"
down_revision = "dcbbb8d1f045"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("live_connection", schema=None) as batch_op:
        batch_op.add_column(sa.Column("address_key", sa.String(length=32), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_live_connection_address_key"), ["address_key"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_live_connection_person_key"), ["person_key"], unique=False
        )


def downgrade():
    with op.batch_alter_table("live_connection", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_live_connection_person_key"))
        batch_op.drop_index(batch_op.f("ix_live_connection_address_key"))
        batch_op.drop_column("address_key")
