"""staff invitations: a manager invites someone by e-mail to hold roles in an authority

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 09:00:00

A new ``staff_invitation`` table: the authority, the invited address, the roles granted
on acceptance, the token's SHA-256 digest (never the token), its expiry, and when it was
accepted or cancelled. No existing row changes.
"""
import sqlalchemy as sa
from alembic import op

import aap.database

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('staff_invitation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('authority_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('roles', sa.JSON(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('invited_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', aap.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', aap.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('accepted_at', aap.database.UTCDateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', aap.database.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['authority_id'], ['authority.id'],
                            name=op.f('fk_staff_invitation_authority_id_authority'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['invited_by_id'], ['user_account.id'],
                            name=op.f('fk_staff_invitation_invited_by_id_user_account'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_invitation')),
    sa.UniqueConstraint('digest', name=op.f('uq_staff_invitation_digest'))
    )
    with op.batch_alter_table('staff_invitation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_invitation_authority_id'), ['authority_id'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('staff_invitation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_invitation_authority_id'))

    op.drop_table('staff_invitation')
