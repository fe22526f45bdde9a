"""prepared questions (order, agenda item, when asked) and the presenter link

Revision ID: 4f7c2d9e1b35
Revises: 9b1d4e7a2c60
Create Date: 2026-12-02 07:40:00

"""

import sqlalchemy as sa
from alembic import op

revision = "4f7c2d9e1b35"
down_revision = "9b1d4e7a2c60"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("presenter_secret", sa.String(length=64), nullable=True))
    with op.batch_alter_table("prompt", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("prepared", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column("position", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("agenda_item_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("asked_at", sa.DateTime(), nullable=True))
        batch_op.create_foreign_key(
            "fk_prompt_agenda_item", "agenda_item", ["agenda_item_id"], ["id"], ondelete="SET NULL"
        )
    # Every prompt so far was typed live, so it was asked when it was made.
    op.execute("UPDATE prompt SET asked_at = created_at")


def downgrade():
    with op.batch_alter_table("prompt", schema=None) as batch_op:
        batch_op.drop_constraint("fk_prompt_agenda_item", type_="foreignkey")
        batch_op.drop_column("asked_at")
        batch_op.drop_column("agenda_item_id")
        batch_op.drop_column("position")
        batch_op.drop_column("prepared")
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.drop_column("presenter_secret")
