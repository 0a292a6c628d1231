"""account keys for encryption at rest

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006_upload_links"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "encryption_keys",
        sa.Column("owner", sa.String(length=36), nullable=False),
        sa.Column("wrapped", sa.LargeBinary(length=128), nullable=False),
        sa.Column("master_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("owner", name=op.f("pk_encryption_keys")),
    )
    with op.batch_alter_table("encryption_keys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_encryption_keys_master_id"), ["master_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("encryption_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_encryption_keys_master_id"))
    op.drop_table("encryption_keys")
