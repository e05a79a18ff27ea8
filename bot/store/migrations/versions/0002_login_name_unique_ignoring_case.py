"""login names unique ignoring case (lookups ignore case)

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("uq_accounts_login_name_lower", "accounts", [sa.text("lower(login_name)")], unique=True)


def downgrade() -> None:
    op.drop_index("uq_accounts_login_name_lower", table_name="accounts")
