"""The answers ``policies`` remembers within a transaction (memberships, jury
assignments) are asked again once a write transaction begins: a membership removed by
another connection after the request's first check is seen by the checks under the
locks. (On PostgreSQL the request's transaction goes on into the write; on SQLite the
write begins a new transaction.)"""

from __future__ import annotations

from sqlalchemy import delete

from aap.database import write_transaction
from aap.extensions import db
from aap.models import Membership
from aap.services import policies


def test_a_membership_removed_meanwhile_is_seen_under_the_write(world):
    applicant, org = world.users["applicant"], world.org
    db.session.rollback()
    assert policies.is_member(applicant, org.id)  # remembered for this transaction
    with db.engine.connect() as other:  # another request removes the membership
        other.execute(delete(Membership).where(Membership.user_id == applicant.id,
                                               Membership.organisation_id == org.id))
        other.commit()
    assert policies.is_member(applicant, org.id)  # the read's answer, as before
    with write_transaction():
        assert not policies.is_member(applicant, org.id)
