"""api key rate limit

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 04:40:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable: existing keys keep the gateway's default.
    op.add_column('api_key', sa.Column('rate_limit_per_minute', sa.Integer(), nullable=True))


def downgrade() -> None:
    # batch: SQLite drops a column by copying the table.
    with op.batch_alter_table('api_key') as batch_op:
        batch_op.drop_column('rate_limit_per_minute')
