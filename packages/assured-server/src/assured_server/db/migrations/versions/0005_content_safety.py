"""content safety: a file's scan and content flags

Revision ID: 0005_content_safety
Revises: 0004
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_content_safety"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("files", schema=None) as batch_op:
        batch_op.add_column(sa.Column("scan_status", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("scan_engine", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("scan_signature", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("scanned_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("content_flags", sa.String(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("files", schema=None) as batch_op:
        batch_op.drop_column("content_flags")
        batch_op.drop_column("scanned_at")
        batch_op.drop_column("scan_signature")
        batch_op.drop_column("scan_engine")
        batch_op.drop_column("scan_status")
