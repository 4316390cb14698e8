"""The workflow engine: one ``transitions`` machine per workflow, bound per call.

``Workflow.fire`` checks, in this order (SPEC section 4), and raises the first failure:
visibility (404), unknown trigger (404), role on the object (403), state (409), guards
(422). It then moves the state through the machine, applies the effects, and writes the
audit event and the notifications in the caller's transaction. It never commits: the
service layer (``aap.services.workflow``) owns the transaction and the locks.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from transitions import Machine


class WorkflowError(Exception):
    status = 400
    code = "workflow_error"

    def __init__(self, message: str, *, code: str | None = None,
                 fields: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.fields = fields or {}


class NotVisible(WorkflowError):
    status, code = 404, "not_found"


class UnknownTrigger(WorkflowError):
    status, code = 404, "unknown_trigger"


class RoleNotAllowed(WorkflowError):
    status, code = 403, "forbidden"


class StateNotAllowed(WorkflowError):
    status, code = 409, "invalid_state"


class GuardFailed(WorkflowError):
    status, code = 422, "guard_failed"


@dataclass(frozen=True)
class TransitionSpec:
    trigger: str
    source: tuple[str, ...]
    dest: str
    roles: tuple[str, ...]
    guards: tuple[str, ...] = ()
    effects: tuple[str, ...] = ()
    notify: tuple[str, ...] = ()

    @classmethod
    def from_data(cls, data: dict) -> TransitionSpec:
        source = data["source"]
        return cls(
            trigger=data["trigger"],
            source=tuple([source] if isinstance(source, str) else source),
            dest=data["dest"],
            roles=tuple(data["roles"]),
            guards=tuple(data.get("guards", ())),
            effects=tuple(data.get("effects", ())),
            notify=tuple(data.get("notify", ())),
        )


@dataclass
class Context:
    """What guards and effects see of one firing. ``values`` carries parsed trigger data
    from guards to effects (e.g. the decision a guard validated and an effect records)."""

    subject: Any
    actor: Any
    trigger: str
    data: dict[str, Any]
    now: datetime
    spec: TransitionSpec
    values: dict[str, Any] = field(default_factory=dict)

    @property
    def comment(self) -> str:
        return (self.data.get("comment") or "").strip()


class Hooks:
    """The environment a workflow runs in: who sees what, what roles mean on an object,
    named guards and effects, and how audit and notifications are written."""

    def visible(self, actor, subject) -> bool:  # pragma: no cover - interface
        raise NotImplementedError

    def acts_as(self, actor, subject, role: str) -> bool:  # pragma: no cover - interface
        raise NotImplementedError

    guards: dict[str, Callable[[Context], None]] = {}
    effects: dict[str, Callable[[Context], None]] = {}

    def write_state(self, subject, state: str) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def record(self, ctx: Context, from_state: str) -> None:  # pragma: no cover
        raise NotImplementedError

    def notify(self, ctx: Context, audiences: Iterable[str]) -> None:  # pragma: no cover
        raise NotImplementedError


class _Subject:
    """A stand-in bound to the machine for one firing; the row itself is never bound."""

    def __init__(self) -> None:
        self.state: str = ""


class Workflow:
    def __init__(self, definition: dict, hooks: Hooks) -> None:
        self.name: str = definition["name"]
        self.initial: str = definition["initial"]
        self.states: list[dict[str, str]] = definition["states"]
        self.specs = [TransitionSpec.from_data(t) for t in definition["transitions"]]
        self.trigger_labels: dict[str, str] = definition.get("trigger_labels", {})
        self.phases: dict[str, tuple[str, ...]] = dict(definition.get("phases", {}))
        self.hooks = hooks
        self._check_names()
        self.machine = Machine(
            model=None,
            states=[s["name"] for s in self.states],
            transitions=[
                {"trigger": s.trigger, "source": list(s.source), "dest": s.dest}
                for s in self.specs
            ],
            initial=self.initial,
            auto_transitions=False,
        )
        self._lock = threading.Lock()

    def _check_names(self) -> None:
        names = {s["name"] for s in self.states}
        for phase, states in self.phases.items():
            unknown = set(states) - names
            if unknown:
                raise ValueError(f"phase {phase}: unknown states {sorted(unknown)}")
        for spec in self.specs:
            unknown = {*spec.source, spec.dest} - names
            if unknown:
                raise ValueError(f"{spec.trigger}: unknown states {sorted(unknown)}")
            for guard in spec.guards:
                if guard not in self.hooks.guards:
                    raise ValueError(f"{spec.trigger}: unknown guard {guard!r}")
            for effect in spec.effects:
                if effect not in self.hooks.effects:
                    raise ValueError(f"{spec.trigger}: unknown effect {effect!r}")

    # -- introspection -------------------------------------------------------------
    @property
    def state_names(self) -> list[str]:
        return [s["name"] for s in self.states]

    @property
    def triggers(self) -> list[str]:
        return list(dict.fromkeys(s.trigger for s in self.specs))

    def label(self, state: str) -> str:
        return next((s["label"] for s in self.states if s["name"] == state), state)

    def trigger_label(self, trigger: str) -> str:
        return self.trigger_labels.get(trigger, trigger)

    def phase(self, name: str) -> frozenset[str]:
        """The states of a phase of the definition (KeyError for an unknown phase)."""
        return frozenset(self.phases[name])

    def roles_for(self, trigger: str) -> set[str]:
        return {r for s in self.specs if s.trigger == trigger for r in s.roles}

    def spec_for(self, trigger: str, state: str) -> TransitionSpec | None:
        return next((s for s in self.specs if s.trigger == trigger and state in s.source), None)

    def available(self, state: str) -> list[TransitionSpec]:
        return [s for s in self.specs if state in s.source]

    def allowed_for(self, actor, subject) -> list[TransitionSpec]:
        """Transitions the actor may try now (role and state); guards may still refuse."""
        return [
            s for s in self.available(subject.state)
            if any(self.hooks.acts_as(actor, subject, role) for role in s.roles)
        ]

    # -- firing --------------------------------------------------------------------
    def check(self, subject, trigger: str, actor) -> TransitionSpec:
        """Visibility, trigger, role and state checks, in the order of SPEC section 4."""
        if not self.hooks.visible(actor, subject):
            raise NotVisible("Dossier introuvable.")
        if trigger not in self.triggers:
            raise UnknownTrigger(f"Action inconnue : {trigger}.")
        roles = self.roles_for(trigger)
        if not any(self.hooks.acts_as(actor, subject, role) for role in roles):
            raise RoleNotAllowed("Votre rôle ne permet pas cette action sur ce dossier.")
        spec = self.spec_for(trigger, subject.state)
        if spec is None:
            raise StateNotAllowed(
                f"Action « {self.trigger_label(trigger)} » impossible dans l'état "
                f"« {self.label(subject.state)} »."
            )
        return spec

    def fire(self, subject, trigger: str, actor, data: dict | None, now: datetime) -> Context:
        spec = self.check(subject, trigger, actor)
        ctx = Context(subject=subject, actor=actor, trigger=trigger, data=dict(data or {}),
                      now=now, spec=spec)
        for name in spec.guards:
            self.hooks.guards[name](ctx)
        from_state = subject.state
        new_state = self._move(from_state, trigger)
        for name in spec.effects:
            self.hooks.effects[name](ctx)
        self.hooks.write_state(subject, new_state)
        self.hooks.record(ctx, from_state)
        self.hooks.notify(ctx, spec.notify)
        return ctx

    def _move(self, state: str, trigger: str) -> str:
        proxy = _Subject()
        with self._lock:
            self.machine.add_model(proxy, initial=state)
            try:
                proxy.trigger(trigger)
            finally:
                self.machine.remove_model(proxy)
        return proxy.state

    # -- drawing -------------------------------------------------------------------
    def mermaid(self) -> str:
        lines = ["stateDiagram-v2", f"    [*] --> {self.initial}"]
        for spec in self.specs:
            roles = "/".join(spec.roles)
            for source in spec.source:
                lines.append(f"    {source} --> {spec.dest}: {spec.trigger} ({roles})")
        terminal = [s for s in self.state_names if not self.available(s)]
        lines.extend(f"    {state} --> [*]" for state in terminal)
        return "\n".join(lines)


_registry: dict[str, Workflow] = {}


def get_workflow(name: str = "application") -> Workflow:
    """The workflow built once per process (not one machine per row)."""
    if name not in _registry:
        from workflows import application
        from workflows.hooks import ApplicationHooks

        definitions = {application.NAME: application.DEFINITION}
        _registry[name] = Workflow(definitions[name], ApplicationHooks())
    return _registry[name]
