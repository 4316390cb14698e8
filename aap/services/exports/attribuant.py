"""The *attribuant* of a fund: who grants its money, as the exports and the public pages
name it (SCDL ``nomAttribuant`` / ``idAttribuant``).

A fund run by an authority is that authority's: its name and SIRET. A platform-wide fund
(no authority, the single-body install) keeps the owner typed on the fund
(``owner_name``, ``owner_siret``). The same rule is written twice, once for loaded
objects and once as SQL columns (for the streamed exports), and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, func

from aap.models import Authority, Fund


@dataclass(frozen=True)
class Attribuant:
    name: str
    siret: str


def of_fund(fund: Fund) -> Attribuant:
    """The fund's attribuant; reads ``fund.authority``: load it with the fund for a list."""
    return of(fund, fund.authority if fund.authority_id is not None else None)


def of(fund: Fund, authority: Authority | None) -> Attribuant:
    """The attribuant of ``fund``, whose ``authority`` the caller has already loaded:
    the authority's name and SIRET, else the fund's owner's."""
    if authority is not None:
        return Attribuant(authority.name, authority.siret)
    return Attribuant(fund.owner_name, fund.owner_siret)


def name_column() -> ColumnElement[str]:
    """The attribuant's name, for a query joining ``Authority`` to ``Fund`` (outer)."""
    return func.coalesce(Authority.name, Fund.owner_name)


def siret_column() -> ColumnElement[str]:
    """The attribuant's SIRET, for a query joining ``Authority`` to ``Fund`` (outer)."""
    return func.coalesce(Authority.siret, Fund.owner_siret)
