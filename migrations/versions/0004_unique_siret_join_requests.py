"""unique SIRET, organisation join requests, attachment filenames without control characters

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 10:00:00

A SIRET now belongs to one organisation (a unique index). An existing database may already
hold several organisations with one SIRET: the upgrade must not fail on it, and merging two
organisations (members, applications, payments) is a decision for a person, not for a
migration. So the oldest organisation of each SIRET keeps it as its own; each younger one
is flagged ``siret_duplicate`` (listed by the upgrade, for an administrator to merge) and
left out of the unique index, which is partial (``WHERE NOT siret_duplicate``). New rows
are never flagged: from this revision on, no second organisation can take a SIRET.

Attachment filenames stored before this revision may hold bidirectional overrides and
other control or format characters ("facture<U+202E>fdp.exe" shown as "facture exe.pdf"):
they are removed here, as the application now does when it stores a file.
"""
import logging
import unicodedata

from alembic import op
import sqlalchemy as sa

import aap.database


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

# Unicode categories removed from filenames: controls (C0, DEL, C1), format characters
# (bidirectional embeddings, overrides and isolates, marks, zero-width characters),
# surrogates, private use, line and paragraph separators. A copy of the rule of
# aap.services.attachments at this revision (a migration must not change with the code).
_REMOVED = {"Cc", "Cf", "Cs", "Co", "Zl", "Zp"}


log = logging.getLogger("alembic.runtime.migration")


def _clean_filename(name, extension):
    name = unicodedata.normalize("NFC", name or "")
    name = "".join(" " if c.isspace() else c for c in name
                   if c.isspace() or unicodedata.category(c) not in _REMOVED)
    name = " ".join(name.replace("\\", "/").rsplit("/", 1)[-1].split())
    suffix = f".{extension}"
    if name.lower().endswith(suffix):
        name, suffix = name[:-len(suffix)], name[-len(suffix):]
    return (name.strip(" .")[:200].rstrip(" .") or "piece") + suffix


def upgrade():
    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('siret_duplicate', sa.Boolean(), nullable=False,
                                      server_default='0'))

    bind = op.get_bind()
    organisation = sa.table('organisation', sa.column('id', sa.Integer()),
                            sa.column('name', sa.String()), sa.column('siret', sa.String()),
                            sa.column('siret_duplicate', sa.Boolean()))
    rows = bind.execute(sa.select(organisation.c.id, organisation.c.name, organisation.c.siret)
                        .order_by(organisation.c.siret, organisation.c.id)).all()
    first_of: dict[str, int] = {}
    duplicates = []
    for id_, name, siret in rows:
        if siret in first_of:
            duplicates.append((id_, name, siret, first_of[siret]))
        else:
            first_of[siret] = id_
    if duplicates:
        bind.execute(organisation.update()
                     .where(organisation.c.id.in_([d[0] for d in duplicates]))
                     .values(siret_duplicate=True))
        log.warning("%d organisation(s) share a SIRET with an older one: flagged "
                    "siret_duplicate, to merge by hand", len(duplicates))
        for id_, name, siret, first in duplicates:
            log.warning("organisation %s (%s) has the SIRET %s of organisation %s",
                        id_, name, siret, first)

    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.create_index('uq_organisation_siret', ['siret'], unique=True,
                              sqlite_where=sa.text('NOT siret_duplicate'),
                              postgresql_where=sa.text('NOT siret_duplicate'))

    op.create_table('organisation_join_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('created_at', aap.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_at', aap.database.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'accepted', 'declined')", name=op.f('ck_organisation_join_request_status_known')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user_account.id'], name=op.f('fk_organisation_join_request_decided_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_organisation_join_request_organisation_id_organisation'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_organisation_join_request_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organisation_join_request'))
    )
    with op.batch_alter_table('organisation_join_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_organisation_join_request_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_organisation_join_request_user_id'), ['user_id'], unique=False)
        batch_op.create_index('uq_organisation_join_request_pending', ['organisation_id', 'user_id'], unique=True,
                              sqlite_where=sa.text("status = 'pending'"),
                              postgresql_where=sa.text("status = 'pending'"))

    attachment = sa.table('attachment', sa.column('id', sa.Integer()),
                          sa.column('filename', sa.String()),
                          sa.column('stored_name', sa.String()))
    for id_, filename, stored_name in bind.execute(sa.select(
            attachment.c.id, attachment.c.filename, attachment.c.stored_name)).all():
        cleaned = _clean_filename(filename, stored_name.rsplit(".", 1)[-1])
        if cleaned != filename:
            bind.execute(attachment.update().where(attachment.c.id == id_)
                         .values(filename=cleaned))


def downgrade():
    # the cleaned filenames stay clean: their control characters are not restored
    with op.batch_alter_table('organisation_join_request', schema=None) as batch_op:
        batch_op.drop_index('uq_organisation_join_request_pending')
        batch_op.drop_index(batch_op.f('ix_organisation_join_request_user_id'))
        batch_op.drop_index(batch_op.f('ix_organisation_join_request_organisation_id'))

    op.drop_table('organisation_join_request')
    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.drop_index('uq_organisation_siret')
        batch_op.drop_column('siret_duplicate')
