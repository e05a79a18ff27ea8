"""conversation values: what a running flow keeps out of the conversation store

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "conversation_values",
        sa.Column("sender_id", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("sender_id", "name"),
    )
    op.create_index("ix_conversation_values_updated_at", "conversation_values", ["updated_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_conversation_values_updated_at", table_name="conversation_values")
    op.drop_table("conversation_values")
