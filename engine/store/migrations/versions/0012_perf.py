"""list settings: the columns each user chose per list page

Revision ID: 0012_perf
Revises: 0011
Create Date: 2026-12-06 08:10:00
"""
import sqlalchemy as sa
from alembic import op

from engine.store.models import UtcDateTime

revision = '0012_perf'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'list_setting',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('list_key', sa.String(length=200), nullable=False),
        sa.Column('columns', sa.Text(), nullable=False),
        sa.Column('updated_at', UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('user_id', 'list_key', name='uq_list_setting_user_list'),
    )


def downgrade() -> None:
    op.drop_table('list_setting')
