"""search keys carry their record's owner, so a seller's search reads only the keys of records they may see

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 11:00:00

A trigger keeps the copy current: every change of record.owner_id, through whatever path (rules, reassignment,
imports, merges, SQL by hand), rewrites the owner of that record's keys in the same statement.
"""
import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

SQLITE_TRIGGER = """
CREATE TRIGGER search_key_owner AFTER UPDATE OF owner_id ON record
FOR EACH ROW WHEN OLD.owner_id IS NOT NEW.owner_id
BEGIN
    UPDATE search_key SET owner_id = NEW.owner_id WHERE record_id = NEW.id;
END
"""
POSTGRES_FUNCTION = """
CREATE OR REPLACE FUNCTION search_key_owner() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE search_key SET owner_id = NEW.owner_id WHERE record_id = NEW.id;
    RETURN NULL;
END
$$
"""
POSTGRES_TRIGGER = """
CREATE TRIGGER search_key_owner AFTER UPDATE OF owner_id ON record
FOR EACH ROW WHEN (OLD.owner_id IS DISTINCT FROM NEW.owner_id) EXECUTE FUNCTION search_key_owner()
"""


def upgrade() -> None:
    with op.batch_alter_table('search_key') as batch:
        batch.add_column(sa.Column('owner_id', sa.Integer(), nullable=True))
    op.execute('UPDATE search_key SET owner_id = (SELECT record.owner_id FROM record WHERE record.id = '
               'search_key.record_id)')
    op.create_index('ix_search_key_owner_key', 'search_key', ['owner_id', 'key', 'record_id'], unique=False)
    if op.get_context().dialect.name == 'postgresql':
        op.execute(POSTGRES_FUNCTION)
        op.execute(POSTGRES_TRIGGER)
    else:
        op.execute(SQLITE_TRIGGER)


def downgrade() -> None:
    op.execute('DROP TRIGGER IF EXISTS search_key_owner' +
               (' ON record' if op.get_context().dialect.name == 'postgresql' else ''))
    if op.get_context().dialect.name == 'postgresql':
        op.execute('DROP FUNCTION IF EXISTS search_key_owner()')
    op.drop_index('ix_search_key_owner_key', table_name='search_key')
    with op.batch_alter_table('search_key') as batch:
        batch.drop_column('owner_id')
