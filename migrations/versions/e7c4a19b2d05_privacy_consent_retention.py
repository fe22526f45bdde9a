"""privacy: harvest consent per reflection, take-down, retention, self-service log entries

Revision ID: e7c4a19b2d05
Revises: 1acdfebb4bf2
Create Date: 2026-12-02 07:30:00

"""

import sqlalchemy as sa
from alembic import op

from lero_events.models import UTCDateTime

revision = "e7c4a19b2d05"
down_revision = "1acdfebb4bf2"
branch_labels = None
depends_on = None


def upgrade():
    # Reflections posted before people were asked stay out of names: "anonymous".
    with op.batch_alter_table("contribution", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("sharing", sa.String(12), server_default="anonymous", nullable=False)
        )
        batch_op.add_column(sa.Column("taken_down_at", UTCDateTime(), nullable=True))
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("retention_days", sa.Integer(), nullable=True))
    with op.batch_alter_table("registration", schema=None) as batch_op:
        batch_op.add_column(sa.Column("purged_at", UTCDateTime(), nullable=True))
    with op.batch_alter_table("personal_data_access", schema=None) as batch_op:
        batch_op.alter_column("organiser_id", existing_type=sa.Integer(), nullable=True)


def downgrade():
    with op.batch_alter_table("personal_data_access", schema=None) as batch_op:
        batch_op.alter_column("organiser_id", existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table("registration", schema=None) as batch_op:
        batch_op.drop_column("purged_at")
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.drop_column("retention_days")
    with op.batch_alter_table("contribution", schema=None) as batch_op:
        batch_op.drop_column("taken_down_at")
        batch_op.drop_column("sharing")

