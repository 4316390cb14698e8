"""allocation runs in force, call allocation settings, thresholds as settings, repayments received

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 21:00:00

"""
from alembic import op
import sqlalchemy as sa

import aap.database


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('call', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pool_leftovers', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('cap_per_application_cents', sa.BigInteger(),
                                      nullable=True))
        batch_op.add_column(sa.Column('cap_share_of_cost', sa.Numeric(5, 4), nullable=True))
        batch_op.add_column(sa.Column('cap_per_organisation_cents', sa.BigInteger(),
                                      nullable=True))
        batch_op.add_column(sa.Column('grey_zone', sa.Numeric(8, 3), nullable=False,
                                      server_default='0'))
        batch_op.add_column(sa.Column('convention_threshold_cents', sa.BigInteger(),
                                      nullable=False, server_default='2300000'))
        batch_op.add_column(sa.Column('report_gap_threshold', sa.Numeric(5, 4),
                                      nullable=False, server_default='0.15'))
    with op.batch_alter_table('allocation_run', schema=None) as batch_op:
        batch_op.add_column(sa.Column('digest', sa.String(length=64), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('parameters', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('inputs', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('superseded_at',
                                      aap.database.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table('allocation_row', schema=None) as batch_op:
        batch_op.add_column(sa.Column('envelope', sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column('pooled_cents', sa.BigInteger(), nullable=False,
                                      server_default='0'))
        batch_op.add_column(sa.Column('drawn', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    with op.batch_alter_table('repayment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('received_on', sa.Date(), nullable=True))


def downgrade():
    with op.batch_alter_table('repayment', schema=None) as batch_op:
        batch_op.drop_column('received_on')
    with op.batch_alter_table('allocation_row', schema=None) as batch_op:
        batch_op.drop_column('drawn')
        batch_op.drop_column('pooled_cents')
        batch_op.drop_column('envelope')
    with op.batch_alter_table('allocation_run', schema=None) as batch_op:
        batch_op.drop_column('superseded_at')
        batch_op.drop_column('inputs')
        batch_op.drop_column('parameters')
        batch_op.drop_column('digest')
    with op.batch_alter_table('call', schema=None) as batch_op:
        for column in ('report_gap_threshold',
                       'convention_threshold_cents', 'grey_zone',
                       'cap_per_organisation_cents', 'cap_share_of_cost',
                       'cap_per_application_cents', 'pool_leftovers'):
            batch_op.drop_column(column)
