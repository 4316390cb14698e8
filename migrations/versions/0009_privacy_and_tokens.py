"""privacy and API tokens: last login, anonymised accounts, token labels and last use

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 09:00:00

``user_account`` gains ``last_login_at`` (the dormant-account rule of the retention
settings) and ``anonymised_at`` (when its personal data was replaced by a pseudonym);
``api_token`` gains a ``label`` chosen by its owner and ``last_used_at`` (written at most
once a minute), and an index on its owner for the owner's list. No existing row changes:
existing accounts have no last login yet (their creation date counts instead), existing
tokens an empty label.
"""
import sqlalchemy as sa
from alembic import op

import aap.database

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_login_at',
                                      aap.database.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('anonymised_at',
                                      aap.database.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.add_column(sa.Column('label', sa.String(length=100), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('last_used_at',
                                      aap.database.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_api_token_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_token_user_id'))
        batch_op.drop_column('last_used_at')
        batch_op.drop_column('label')
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('anonymised_at')
        batch_op.drop_column('last_login_at')
