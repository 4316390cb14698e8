"""authorities: several bodies on one instance, each running its own funds

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 09:00:00

A new ``authority`` table; a fund may belong to one, and a staff role may be held in one.
Existing funds and roles are left platform-wide (``authority_id`` NULL): a single-body
install keeps working unchanged, and its administrator attaches the funds to an authority
when a second body joins. Nothing is lost or guessed.

The unique key of ``user_role`` becomes (user, role, authority), with one platform-wide
row per role kept unique by a partial index (NULLs are distinct in a unique constraint).
"""
from alembic import op
import sqlalchemy as sa

import aap.database


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('authority',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('siret', sa.String(length=14), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('created_at', aap.database.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('metropole', 'council', 'commune', 'department', 'region', 'other')",
                       name=op.f('ck_authority_kind_known')),
    sa.CheckConstraint('parent_id IS NULL OR parent_id <> id',
                       name=op.f('ck_authority_not_its_own_parent')),
    sa.ForeignKeyConstraint(['parent_id'], ['authority.id'],
                            name=op.f('fk_authority_parent_id_authority'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_authority')),
    sa.UniqueConstraint('siret', name=op.f('uq_authority_siret'))
    )
    with op.batch_alter_table('authority', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_authority_parent_id'), ['parent_id'], unique=False)

    with op.batch_alter_table('fund', schema=None) as batch_op:
        batch_op.add_column(sa.Column('authority_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_fund_authority_id'), ['authority_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_fund_authority_id_authority'), 'authority',
                                    ['authority_id'], ['id'], ondelete='RESTRICT')

    with op.batch_alter_table('user_role', schema=None) as batch_op:
        batch_op.add_column(sa.Column('authority_id', sa.Integer(), nullable=True))
        batch_op.drop_constraint('uq_user_role_user_id_role', type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_user_role_user_id_role_authority_id'),
                                          ['user_id', 'role', 'authority_id'])
        batch_op.create_index(batch_op.f('ix_user_role_authority_id'), ['authority_id'],
                              unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_user_role_authority_id_authority'),
                                    'authority', ['authority_id'], ['id'], ondelete='CASCADE')
    op.create_index('uq_user_role_platform_wide', 'user_role', ['user_id', 'role'],
                    unique=True, sqlite_where=sa.text('authority_id IS NULL'),
                    postgresql_where=sa.text('authority_id IS NULL'))


def downgrade():
    # A role held in an authority has no meaning before this revision: it is removed, not
    # widened to the whole platform (an authority's instructor must not come out as every
    # authority's).
    op.execute("DELETE FROM user_role WHERE authority_id IS NOT NULL")
    op.drop_index('uq_user_role_platform_wide', table_name='user_role')
    with op.batch_alter_table('user_role', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_user_role_authority_id_authority'),
                                 type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_user_role_authority_id'))
        batch_op.drop_constraint(batch_op.f('uq_user_role_user_id_role_authority_id'), type_='unique')
        batch_op.create_unique_constraint('uq_user_role_user_id_role', ['user_id', 'role'])
        batch_op.drop_column('authority_id')
    with op.batch_alter_table('fund', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_fund_authority_id_authority'),
                                 type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_fund_authority_id'))
        batch_op.drop_column('authority_id')
    with op.batch_alter_table('authority', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_authority_parent_id'))
    op.drop_table('authority')
