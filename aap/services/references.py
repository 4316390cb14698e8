"""Application references ``AAP-{fiscal year}-{sequence:04d}``, numbered per year.

The counter is incremented with one ``UPDATE ... RETURNING`` statement, which is atomic
on PostgreSQL and SQLite alike, so two submissions never get the same number.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite

from aap.extensions import db
from aap.models import ReferenceCounter


def next_reference(fiscal_year: int) -> str:
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    db.session.execute(
        insert(ReferenceCounter)
        .values(fiscal_year=fiscal_year, last_value=0)
        .on_conflict_do_nothing(index_elements=["fiscal_year"])
    )
    value = db.session.execute(
        update(ReferenceCounter)
        .where(ReferenceCounter.fiscal_year == fiscal_year)
        .values(last_value=ReferenceCounter.last_value + 1)
        .returning(ReferenceCounter.last_value)
    ).scalar_one()
    return f"AAP-{fiscal_year}-{value:04d}"
