"""live room: index for the head of an audience chain

Revision ID: 9b1d4e7a2c60
Revises: 5d2e8a41c0b7
Create Date: 2026-12-02 05:00:00

"""

from alembic import op

revision = "9b1d4e7a2c60"
down_revision = "5d2e8a41c0b7"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("room_update", schema=None) as batch_op:
        batch_op.create_index(
            "ix_room_update_chain", ["event_id", "audience", "author_key", "seq"], unique=False
        )


def downgrade():
    with op.batch_alter_table("room_update", schema=None) as batch_op:
        batch_op.drop_index("ix_room_update_chain")
