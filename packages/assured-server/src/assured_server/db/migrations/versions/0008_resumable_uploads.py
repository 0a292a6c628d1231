"""resumable (tus) uploads

Revision ID: 0008_resumable_uploads
Revises: 0007
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_resumable_uploads"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "resumable_uploads",
        sa.Column("file_id", sa.String(length=36), nullable=False),
        sa.Column("upload_length", sa.BigInteger(), nullable=False),
        sa.Column("upload_offset", sa.BigInteger(), nullable=False),
        sa.Column("segments", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("writer_until", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["file_id"],
            ["files.id"],
            name=op.f("fk_resumable_uploads_file_id_files"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("file_id", name=op.f("pk_resumable_uploads")),
    )
    with op.batch_alter_table("resumable_uploads", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_resumable_uploads_expires_at"), ["expires_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("resumable_uploads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_resumable_uploads_expires_at"))
    op.drop_table("resumable_uploads")
