"""config_version.note (what made a configuration version: files, a browser edit, a rollback); a process version
may repeat an older text (a rollback makes it the newest version again), so (process_id, content_hash) is no
longer unique

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 08:10:00
"""
import sqlalchemy as sa
from alembic import op

from engine.store.models import UtcDateTime

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def _process_version(*, unique_hash: bool) -> sa.Table:
    """process_version as migration 0001 made it, with or without the unique (process_id, content_hash)."""
    constraints = [sa.UniqueConstraint('process_id', 'content_hash')] if unique_hash else []
    return sa.Table(
        'process_version', sa.MetaData(),
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('process_id', sa.String(length=200), nullable=False),
        sa.Column('name', sa.String(length=300), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('content_hash', sa.String(length=64), nullable=False),
        sa.Column('file', sa.String(length=300), nullable=False),
        sa.Column('bpmn_xml', sa.Text(), nullable=False),
        sa.Column('spec_json', sa.Text(), nullable=False),
        sa.Column('entity', sa.String(length=100), nullable=True),
        sa.Column('start_on', sa.String(length=40), nullable=True),
        sa.Column('config_version_id', sa.Integer(), nullable=False),
        sa.Column('deployed_at', UtcDateTime(timezone=True), nullable=False),
        sa.Column('deployed_by', sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(['config_version_id'], ['config_version.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('process_id', 'version'),
        *constraints,
        sa.Index('ix_process_version_process_id', 'process_id'),
    )


def upgrade() -> None:
    with op.batch_alter_table('config_version') as batch:
        batch.add_column(sa.Column('note', sa.String(length=300), nullable=True))
    bind = op.get_bind()
    if bind.dialect.name == 'sqlite':  # an unnamed constraint: the table is rebuilt without it
        with op.batch_alter_table('process_version', copy_from=_process_version(unique_hash=False),
                                  recreate='always'):
            pass
        return
    for unique in sa.inspect(bind).get_unique_constraints('process_version'):
        if sorted(unique['column_names']) == ['content_hash', 'process_id'] and unique['name']:
            op.drop_constraint(unique['name'], 'process_version', type_='unique')


def downgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        with op.batch_alter_table('process_version', copy_from=_process_version(unique_hash=True),
                                  recreate='always'):
            pass
    else:
        op.create_unique_constraint(None, 'process_version', ['process_id', 'content_hash'])
    with op.batch_alter_table('config_version') as batch:
        batch.drop_column('note')
