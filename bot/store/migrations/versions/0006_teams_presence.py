"""teams, members and routes; agents' presence and turn; handoffs' team, topic, auto-assignment, webhook

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "teams",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_index(
        "uq_teams_default",
        "teams",
        ["is_default"],
        unique=True,
        sqlite_where=sa.text("is_default = 1"),
        postgresql_where=sa.text("is_default"),
    )
    op.create_table(
        "team_members",
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["agent_id"], ["agents.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("team_id", "agent_id"),
    )
    op.create_index("ix_team_members_agent_id", "team_members", ["agent_id"], unique=False)
    op.create_table(
        "team_routes",
        sa.Column("topic", sa.String(length=80), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("topic"),
    )
    op.create_index("ix_team_routes_team_id", "team_routes", ["team_id"], unique=False)
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "presence",
                sa.Enum("online", "busy", "away", name="presence", native_enum=False, length=32),
                nullable=False,
                server_default="away",
            )
        )
        batch_op.add_column(sa.Column("presence_seen_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("assignment_turn", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("handoffs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("topic", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("team_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("auto_assigned", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("webhook_attempts", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("webhook_claimed_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("webhook_sent_at", sa.DateTime(), nullable=True))
        batch_op.create_index("ix_handoffs_team_id", ["team_id"], unique=False)
        batch_op.create_foreign_key("fk_handoffs_team_id", "teams", ["team_id"], ["id"], ondelete="SET NULL")


def downgrade() -> None:
    with op.batch_alter_table("handoffs", schema=None) as batch_op:
        batch_op.drop_constraint("fk_handoffs_team_id", type_="foreignkey")
        batch_op.drop_index("ix_handoffs_team_id")
        batch_op.drop_column("webhook_sent_at")
        batch_op.drop_column("webhook_claimed_at")
        batch_op.drop_column("webhook_attempts")
        batch_op.drop_column("auto_assigned")
        batch_op.drop_column("team_id")
        batch_op.drop_column("topic")
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.drop_column("assignment_turn")
        batch_op.drop_column("presence_seen_at")
        batch_op.drop_column("presence")
    # SQLite's batch mode copies the table and cannot reflect the expression index: put it back.
    bind = op.get_bind()
    if (
        bind.dialect.name == "sqlite"
        and not bind.execute(
            sa.text("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = 'uq_agents_login_lower'")
        ).first()
    ):
        op.create_index("uq_agents_login_lower", "agents", [sa.text("lower(login)")], unique=True)
    op.drop_index("ix_team_routes_team_id", table_name="team_routes")
    op.drop_table("team_routes")
    op.drop_index("ix_team_members_agent_id", table_name="team_members")
    op.drop_table("team_members")
    op.drop_index("uq_teams_default", table_name="teams")
    op.drop_table("teams")
