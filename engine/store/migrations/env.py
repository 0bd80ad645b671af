"""Alembic environment: runs migrations against sqlalchemy.url (set by engine.store.db)."""

from alembic import context
from sqlalchemy import engine_from_config, pool

from engine.store.field_indexes import declared_in_model
from engine.store.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    """Run migrations with a live connection (the only mode flowcrm uses)."""
    connectable = config.attributes.get("connection")
    if connectable is not None:
        context.configure(connection=connectable, target_metadata=target_metadata, render_as_batch=True,
                          include_name=declared_in_model)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = engine_from_config(config.get_section(config.config_ini_section, {}), prefix="sqlalchemy.",
                                poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True,
                          include_name=declared_in_model)
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
