"""handoffs remember whose they are and the problem: the same user's history and search

``user_key`` is who the user is as far as the assistant knows it: ``account:<id>``
for a verified user, otherwise the conversation (``sender_id``: the same widget
session or Telegram chat).  ``problem`` is the summary's problem as one line, the
column search filters by.  Existing rows get their sender id and their summary's
problem.

Revision ID: 0007
Revises: 0006
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

PROBLEM_CHARS = 200  # bot.handoff.models.PROBLEM_CHARS when this revision was written


def upgrade() -> None:
    with op.batch_alter_table("handoffs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("user_key", sa.String(length=160), nullable=True))
        batch_op.add_column(sa.Column("problem", sa.String(length=PROBLEM_CHARS), nullable=True))
        batch_op.create_index("ix_handoffs_user_key", ["user_key"], unique=False)
        batch_op.create_index("ix_handoffs_problem", ["problem"], unique=False)
    handoffs = sa.table(
        "handoffs",
        sa.column("id", sa.Integer),
        sa.column("sender_id", sa.String),
        sa.column("summary", sa.Text),
        sa.column("user_key", sa.String),
        sa.column("problem", sa.String),
    )
    connection = op.get_bind()
    rows = connection.execute(sa.select(handoffs.c.id, handoffs.c.sender_id, handoffs.c.summary)).all()
    for row in rows:
        try:
            problem = (json.loads(row.summary) if row.summary else {}).get("problem")
        except (ValueError, AttributeError):
            problem = None
        connection.execute(
            handoffs.update()
            .where(handoffs.c.id == row.id)
            .values(user_key=row.sender_id, problem=str(problem)[:PROBLEM_CHARS] if problem else None)
        )


def downgrade() -> None:
    with op.batch_alter_table("handoffs", schema=None) as batch_op:
        batch_op.drop_index("ix_handoffs_problem")
        batch_op.drop_index("ix_handoffs_user_key")
        batch_op.drop_column("problem")
        batch_op.drop_column("user_key")
