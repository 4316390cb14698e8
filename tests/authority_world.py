"""Helpers of the authority tests: applications driven through the workflow by the
staff of their own authority, and the authority tree emptied between tests."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import update

from aap.extensions import db
from aap.models import Application, Authority
from aap.services import workflow
from tests.factories import path_to, trigger_data


def bring_to(application: Application, state: str, actors: Mapping[str, object]
             ) -> Application:
    """Fire the shortest path to ``state``, each trigger by ``actors[role]`` (the role the
    workflow names first for it)."""
    specs = workflow.get_workflow().specs
    for trigger in path_to(state, application.state):
        role = next(s for s in specs if s.trigger == trigger).roles[0]
        application = workflow.fire(application, trigger, actors[role],
                                    trigger_data(trigger, application))
    assert application.state == state
    return application


def detach_the_tree() -> None:
    """tests/conftest.py empties ``authority`` with one DELETE, which SQLite's immediate
    RESTRICT on ``parent_id`` refuses while a child is left: cut the links first."""
    db.session.rollback()
    db.session.execute(update(Authority).values(parent_id=None))
    db.session.commit()
