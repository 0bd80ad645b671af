"""search keys: normalized words, phones and e-mails of every record, for the global search (issue 13)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 08:05:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'search_key',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('record_id', sa.Integer(), nullable=False),
        sa.Column('entity', sa.String(length=100), nullable=False),
        sa.Column('key', sa.String(length=200).with_variant(sa.String(length=200, collation='C'), 'postgresql'),
                  nullable=False),
        sa.ForeignKeyConstraint(['record_id'], ['record.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_search_key_key', 'search_key', ['key', 'entity', 'record_id'], unique=False)
    op.create_index(op.f('ix_search_key_record_id'), 'search_key', ['record_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_search_key_record_id'), table_name='search_key')
    op.drop_index('ix_search_key_key', table_name='search_key')
    op.drop_table('search_key')
