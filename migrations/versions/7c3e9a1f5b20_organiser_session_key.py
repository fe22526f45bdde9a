"""organiser: session key, so logging out and a new password end every session

Revision ID: 7c3e9a1f5b20
Revises: e41f7c2b9d35
Create Date: 2026-12-02 07:40:00

"""

import secrets

import sqlalchemy as sa
from alembic import op

revision = "7c3e9a1f5b20"
down_revision = "e41f7c2b9d35"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("organiser", schema=None) as batch_op:
        batch_op.add_column(sa.Column("session_key", sa.String(length=64), nullable=True))
    # Each organiser a random key of their own (sessions from before the upgrade end once).
    organiser = sa.table("organiser", sa.column("id", sa.Integer), sa.column("session_key"))
    connection = op.get_bind()
    for (organiser_id,) in connection.execute(sa.select(organiser.c.id)).all():
        connection.execute(
            organiser.update()
            .where(organiser.c.id == organiser_id)
            .values(session_key=secrets.token_urlsafe(24))
        )
    with op.batch_alter_table("organiser", schema=None) as batch_op:
        batch_op.alter_column("session_key", existing_type=sa.String(length=64), nullable=False)


def downgrade():
    with op.batch_alter_table("organiser", schema=None) as batch_op:
        batch_op.drop_column("session_key")
