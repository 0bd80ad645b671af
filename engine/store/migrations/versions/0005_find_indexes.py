"""find indexes: record_link indexes cover both ends; GIN index on record.data (PostgreSQL)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 15:40:00

The expression indexes of searchable fields are made at deploy (engine/store/field_indexes.py), not here.
"""
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('record_link', schema=None) as batch_op:
        batch_op.drop_index('ix_record_link_from')
        batch_op.drop_index('ix_record_link_to')
        batch_op.create_index('ix_record_link_from', ['from_record_id', 'kind', 'field', 'to_record_id'], unique=False)
        batch_op.create_index('ix_record_link_to', ['to_record_id', 'kind', 'field', 'from_record_id'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        # has_any / has_all on lists and equality probes as data @> '{...}'; not declared in the model
        op.create_index('ix_record_data_gin', 'record', ['data'], unique=False, postgresql_using='gin',
                        postgresql_ops={'data': 'jsonb_path_ops'})


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_index('ix_record_data_gin', table_name='record')
    with op.batch_alter_table('record_link', schema=None) as batch_op:
        batch_op.drop_index('ix_record_link_to')
        batch_op.drop_index('ix_record_link_from')
        batch_op.create_index('ix_record_link_to', ['to_record_id', 'kind', 'field'], unique=False)
        batch_op.create_index('ix_record_link_from', ['from_record_id', 'kind', 'field'], unique=False)
