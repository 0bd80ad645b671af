"""dedup: the learned match model of each probabilistic duplicate rule

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 08:00:00
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from engine.store.models import UtcDateTime

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'match_model',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('entity', sa.String(length=100), nullable=False),
        sa.Column('rule', sa.String(length=100), nullable=False),
        sa.Column('params', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'),
                  nullable=False),
        sa.Column('trained_at', UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('entity', 'rule', name='uq_match_model'),
    )


def downgrade() -> None:
    op.drop_table('match_model')
