"""upload links, and the link a file came through

Revision ID: 0006_upload_links
Revises: 0005_content_safety
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_upload_links"
down_revision = "0005_content_safety"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "upload_links",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("label", sa.Text(), nullable=True),
        sa.Column("content_types", sa.String(length=500), nullable=False),
        sa.Column("max_files", sa.Integer(), nullable=False),
        sa.Column("files_uploaded", sa.Integer(), nullable=False),
        sa.Column("file_expires_in", sa.BigInteger(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("business_process", sa.String(length=400), nullable=True),
        sa.Column("business_process_action", sa.String(length=400), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_upload_links_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_upload_links")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_upload_links_token_hash")),
    )
    with op.batch_alter_table("upload_links", schema=None) as batch_op:
        batch_op.create_index("ix_upload_links_account_id_id", ["account_id", "id"], unique=False)
    with op.batch_alter_table("files", schema=None) as batch_op:
        batch_op.add_column(sa.Column("upload_link_id", sa.String(length=36), nullable=True))
        batch_op.create_index("ix_files_upload_link_id", ["upload_link_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("files", schema=None) as batch_op:
        batch_op.drop_index("ix_files_upload_link_id")
        batch_op.drop_column("upload_link_id")
    with op.batch_alter_table("upload_links", schema=None) as batch_op:
        batch_op.drop_index("ix_upload_links_account_id_id")
    op.drop_table("upload_links")
