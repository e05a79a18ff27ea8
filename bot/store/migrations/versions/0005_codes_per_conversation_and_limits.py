"""SMS codes per conversation (and whether an SMS carried them); the counters of the rate limits

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("one_time_codes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sender_id", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("delivered", sa.Boolean(), nullable=False, server_default=sa.true()))
        batch_op.create_index("ix_one_time_codes_sender_id", ["sender_id"], unique=False)
    op.create_table(
        "rate_limit_hits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bucket", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_rate_limit_hits_bucket_key_at", "rate_limit_hits", ["bucket", "key", "at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_rate_limit_hits_bucket_key_at", table_name="rate_limit_hits")
    op.drop_table("rate_limit_hits")
    with op.batch_alter_table("one_time_codes", schema=None) as batch_op:
        batch_op.drop_index("ix_one_time_codes_sender_id")
        batch_op.drop_column("delivered")
        batch_op.drop_column("sender_id")
