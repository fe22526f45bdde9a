"""support during the session (wellbeing hosts, support requests), moderation in the open

Revision ID: e4a7c2d9b815
Revises: 7c3e9a1f5b20
Create Date: 2026-12-02 07:25:00

"""

import sqlalchemy as sa
from alembic import op

import lero_events.models

revision = "e4a7c2d9b815"
down_revision = "7c3e9a1f5b20"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "support_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("author_key", sa.String(length=64), nullable=False),
        sa.Column("registration_id", sa.Integer(), nullable=True),
        sa.Column("guest_name", sa.String(length=80), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("created_at", lero_events.models.UTCDateTime(), nullable=False),
        sa.Column("handled_at", lero_events.models.UTCDateTime(), nullable=True),
        sa.Column("handled_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["event_id"], ["event.id"]),
        sa.ForeignKeyConstraint(
            ["handled_by_id"], ["organiser.id"], name="fk_support_request_handled_by"
        ),
        sa.ForeignKeyConstraint(["registration_id"], ["registration.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("support_request", schema=None) as batch_op:
        batch_op.create_index("ix_support_request_chain", ["event_id", "seq"], unique=False)

    with op.batch_alter_table("contribution", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("held_back_reason", sa.String(length=200), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("redacted", sa.String(length=200), server_default="", nullable=False)
        )

    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("support_contacts", sa.Text(), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("support_seq", sa.Integer(), server_default="0", nullable=False)
        )

    with op.batch_alter_table("event_host", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("wellbeing", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade():
    with op.batch_alter_table("event_host", schema=None) as batch_op:
        batch_op.drop_column("wellbeing")

    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.drop_column("support_seq")
        batch_op.drop_column("support_contacts")

    with op.batch_alter_table("contribution", schema=None) as batch_op:
        batch_op.drop_column("redacted")
        batch_op.drop_column("held_back_reason")

    with op.batch_alter_table("support_request", schema=None) as batch_op:
        batch_op.drop_index("ix_support_request_chain")

    op.drop_table("support_request")
