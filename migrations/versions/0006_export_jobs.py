"""export jobs: big exports run in the background, their state in one table

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 09:00:00

"""
from alembic import op
import sqlalchemy as sa

import aap.database


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('export_job',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('parameters', sa.JSON(), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('progress_done', sa.Integer(), nullable=False),
    sa.Column('progress_total', sa.Integer(), nullable=True),
    sa.Column('file_path', sa.String(length=200), nullable=True),
    sa.Column('filename', sa.String(length=200), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', aap.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('started_at', aap.database.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', aap.database.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('queued', 'running', 'done', 'failed')",
                       name=op.f('ck_export_job_status_known')),
    sa.CheckConstraint('progress_done >= 0', name=op.f('ck_export_job_progress_non_negative')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['user_account.id'],
                            name=op.f('fk_export_job_requested_by_id_user_account'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_export_job'))
    )
    with op.batch_alter_table('export_job', schema=None) as batch_op:
        batch_op.create_index('ix_export_job_requested_by_id_created_at',
                              ['requested_by_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_export_job_created_at'), ['created_at'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('export_job', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_export_job_created_at'))
        batch_op.drop_index('ix_export_job_requested_by_id_created_at')

    op.drop_table('export_job')
