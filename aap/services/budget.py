"""The call's budget: what is committed, paid and still available (SPEC section 4).

The figures and their definitions live in :mod:`aap.services.money`; this module keeps
the names the workflow guards, the allocation and the pages have always called.
"""

from __future__ import annotations

from aap.models import Call
from aap.services.money import (
    Figures,
    available_cents,
    available_in_envelopes,
    committed_cents,
    for_call,
    for_calls,
)

#: The figures of a call (budget, proposed, granted, committed, paid, repaid, left to
#: pay, available): see :mod:`aap.services.money`.
BudgetSummary = Figures

__all__ = ["BudgetSummary", "available_cents", "available_in_envelopes", "committed_cents",
           "summaries", "summary"]


def summaries(calls: list[Call]) -> dict[int, Figures]:
    """The figures of several calls in one query (no N+1 on call lists)."""
    return for_calls(calls)


def summary(call: Call) -> Figures:
    return for_call(call)
