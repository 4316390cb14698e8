"""Helpers of the authority tests: applications driven through the workflow by the
staff of their own authority, and the authority tree emptied between tests."""

from __future__ import annotations

from collections.abc import Mapping

from aap.models import Application
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
