"""discreet invites (per event and per booking) and the live room's agreement

Revision ID: 1acdfebb4bf2
Revises: e4a7c2d9b815
Create Date: 2026-12-02 07:18:34

"""

import sqlalchemy as sa
from alembic import op

import lero_events.models

revision = "1acdfebb4bf2"
down_revision = "e4a7c2d9b815"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "room_agreement_acceptance",
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("person_key", sa.String(length=64), nullable=False),
        sa.Column("accepted_at", lero_events.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["event.id"]),
        sa.PrimaryKeyConstraint("event_id", "person_key"),
    )
    # Existing events keep an empty agreement, so nobody in a room that is running now is
    # stopped at the door; new events get the default text from the organiser's form.
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("discreet", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(
            sa.Column("discreet_name", sa.String(length=120), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("room_agreement", sa.Text(), server_default="", nullable=False)
        )
    with op.batch_alter_table("outgoing_email", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("discreet", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    with op.batch_alter_table("registration", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("discreet", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade():
    with op.batch_alter_table("registration", schema=None) as batch_op:
        batch_op.drop_column("discreet")
    with op.batch_alter_table("outgoing_email", schema=None) as batch_op:
        batch_op.drop_column("discreet")
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.drop_column("room_agreement")
        batch_op.drop_column("discreet_name")
        batch_op.drop_column("discreet")
    op.drop_table("room_agreement_acceptance")
