"""audit log indexes: newest-first pages by time, per actor, per record, per event source

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 16:20:00
"""
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

INDEXES = [
    ('field_change', 'ix_field_change_at', ['at', 'id']),
    ('field_change', 'ix_field_change_actor_at', ['actor', 'at', 'id']),
    ('field_change', 'ix_field_change_record_at', ['record_id', 'at', 'id']),
    ('instance_event', 'ix_instance_event_at', ['at', 'id']),
    ('instance_event', 'ix_instance_event_actor_at', ['actor', 'at', 'id']),
    ('inbound_event', 'ix_inbound_event_source_at', ['source', 'received_at', 'id']),
    ('merge_log', 'ix_merge_log_at', ['at', 'id']),
]


def upgrade() -> None:
    for table, name, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    for table, name, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
