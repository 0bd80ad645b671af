"""a standalone task's title in every language its maker gave (a rule's create_task title per locale, a
reminder's), so each reader sees it in their own; older rows keep only their stored title

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 20:00:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "task", sa.Column("title_labels", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("task", "title_labels")
