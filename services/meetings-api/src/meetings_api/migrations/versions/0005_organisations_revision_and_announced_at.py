"""organisations: revision and announced_at

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 08:58:08.005589
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
import bp_common.orm


revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # announced_at stays empty for every existing organisation: the seeded ones were never
    # published, and those registered by the API since are published once more at the next
    # start (the same organisation at revision 1: the consumers' copies do not change).
    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('announced_at', bp_common.orm.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('revision', sa.Integer(), server_default='1', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.drop_column('revision')
        batch_op.drop_column('announced_at')
