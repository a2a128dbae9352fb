"""iati: projects' IATI identifiers, partners' IATI mappings, the organisations' IATI identifiers

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 05:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
import bp_common.orm


revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamps() -> list[sa.Column]:
    return [
        sa.Column('created_at', bp_common.orm.UTCDateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
        sa.Column('updated_at', bp_common.orm.UTCDateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    ]


def upgrade() -> None:
    with op.batch_alter_table('project') as batch:
        batch.add_column(sa.Column('iati_identifier', sa.String(length=150), nullable=True))
        batch.create_unique_constraint(op.f('uq_project_iati_identifier'), ['iati_identifier'])
    op.create_table('iati_mapping',
    sa.Column('organisation', sa.String(length=20), nullable=False),
    sa.Column('indicators', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('dimensions', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    *_timestamps(),
    sa.PrimaryKeyConstraint('organisation', name=op.f('pk_iati_mapping'))
    )
    op.create_table('iati_organisation',
    sa.Column('acronym', sa.String(length=20), nullable=False),
    sa.Column('iati_id', sa.String(length=60), nullable=True),
    sa.Column('name', sa.String(length=300), nullable=True),
    *_timestamps(),
    sa.PrimaryKeyConstraint('acronym', name=op.f('pk_iati_organisation'))
    )


def downgrade() -> None:
    op.drop_table('iati_organisation')
    op.drop_table('iati_mapping')
    with op.batch_alter_table('project') as batch:
        batch.drop_constraint(op.f('uq_project_iati_identifier'), type_='unique')
        batch.drop_column('iati_identifier')
