"""State machines as data, and the engine that runs them.

``workflows.application`` holds the application workflow (SPEC section 4) as plain data;
``workflows.engine`` builds one ``transitions`` machine per workflow and fires triggers
after checking visibility, role, state and guards, in that order.
"""

from workflows.engine import (
    GuardFailed,
    NotVisible,
    RoleNotAllowed,
    StateNotAllowed,
    UnknownTrigger,
    Workflow,
    WorkflowError,
    get_workflow,
)

__all__ = [
    "GuardFailed",
    "NotVisible",
    "RoleNotAllowed",
    "StateNotAllowed",
    "UnknownTrigger",
    "Workflow",
    "WorkflowError",
    "get_workflow",
]
