"""Building a workflow from its definition, inside the test.

The process's workflow is built once, at import; these tests build their own, so that
what the engine does with a definition (parse the transitions, refuse unknown names, set
up the machine without automatic transitions, draw the diagram) is checked each time it
runs. The real definition is checked against SPEC section 4's table, both ways; the small
hand-written definitions below have their expected results written out.
"""

from __future__ import annotations

import pytest

from tests.workflows.test_matrix import EXPECTED
from workflows import application
from workflows.engine import (
    NotVisible,
    RoleNotAllowed,
    StateNotAllowed,
    TransitionSpec,
    UnknownTrigger,
    Workflow,
)
from workflows.hooks import ApplicationHooks


class FakeHooks:
    """Hooks with two named guards and effects; an actor is the set of its roles."""

    guards = {"g1": lambda ctx: None, "g2": lambda ctx: None}
    effects = {"e1": lambda ctx: None}

    def visible(self, actor, subject) -> bool:
        return True

    def acts_as(self, actor, subject, role: str) -> bool:
        return role in actor


def tiny(**changes) -> dict:
    definition = {
        "name": "tiny", "initial": "a",
        "states": [{"name": "a", "label": "État A"}, {"name": "b", "label": "État B"},
                   {"name": "c", "label": "État C"}, {"name": "long", "label": "Long"}],
        "transitions": [
            {"trigger": "go", "source": "a", "dest": "b", "roles": ["x"],
             "guards": ["g1", "g2"], "effects": ["e1"], "notify": ["applicant"]},
            {"trigger": "end", "source": ["a", "b"], "dest": "c", "roles": ["x", "y"]},
            {"trigger": "wait", "source": "long", "dest": "a", "roles": ["x"]},
        ],
        "trigger_labels": {"go": "Avancer"},
        "phases": {"open": ["a", "b"]},
    }
    definition.update(changes)
    return definition


def test_the_real_definition_builds_spec_s_table_both_ways():
    built = Workflow(application.DEFINITION, ApplicationHooks())
    rows = {(src, s.trigger, s.dest, frozenset(s.roles)) for s in built.specs for src in s.source}
    assert rows == set(EXPECTED)
    assert built.name == application.NAME and built.initial == "draft"
    assert built.machine.get_triggers("draft") == ["submit", "withdraw"]  # no to_<state>


def test_a_transition_keeps_its_names_in_order():
    spec = TransitionSpec.from_data(tiny()["transitions"][0])
    assert spec == TransitionSpec(trigger="go", source=("a",), dest="b", roles=("x",),
                                  guards=("g1", "g2"), effects=("e1",), notify=("applicant",))
    bare = TransitionSpec.from_data(tiny()["transitions"][1])
    assert (bare.source, bare.roles, bare.guards, bare.effects, bare.notify) == (
        ("a", "b"), ("x", "y"), (), (), ())


def test_a_small_workflow_built_and_introspected():
    flow = Workflow(tiny(), FakeHooks())
    assert (flow.name, flow.initial, flow.state_names) == (
        "tiny", "a", ["a", "b", "c", "long"])
    assert flow.triggers == ["go", "end", "wait"]
    assert flow.spec_for("wait", "long").source == ("long",)  # a name, not its letters
    assert flow.label("b") == "État B" and flow.label("zz") == "zz"
    assert flow.trigger_label("go") == "Avancer" and flow.trigger_label("end") == "end"
    assert flow.phase("open") == frozenset({"a", "b"})
    assert flow.roles_for("end") == {"x", "y"}
    assert [s.trigger for s in flow.available("a")] == ["go", "end"]
    assert flow.spec_for("end", "b").dest == "c" and flow.spec_for("go", "b") is None
    assert flow._move("a", "go") == "b" and flow._move("b", "end") == "c"
    assert flow.machine.get_triggers("a") == ["go", "end"]  # no automatic to_<state>


def test_what_an_actor_may_try_depends_on_role_and_state():
    flow = Workflow(tiny(), FakeHooks())

    class Subject:
        state = "a"

    assert [s.trigger for s in flow.allowed_for({"y"}, Subject())] == ["end"]
    assert [s.trigger for s in flow.allowed_for({"x"}, Subject())] == ["go", "end"]
    assert flow.allowed_for({"z"}, Subject()) == []


def test_the_diagram_of_a_small_workflow():
    assert Workflow(tiny(), FakeHooks()).mermaid() == "\n".join([
        "stateDiagram-v2",
        "    [*] --> a",
        "    a --> b: go (x)",
        "    a --> c: end (x/y)",
        "    b --> c: end (x/y)",
        "    long --> a: wait (x)",
        "    c --> [*]",
    ])


@pytest.mark.parametrize(("changes", "message"), [
    ({"phases": {"open": ["a", "zz"]}}, "phase open: unknown states ['zz']"),
    ({"transitions": [{"trigger": "go", "source": ["a", "yy"], "dest": "zz",
                       "roles": ["x"]}]}, "go: unknown states ['yy', 'zz']"),
    ({"transitions": [{"trigger": "go", "source": "a", "dest": "b", "roles": ["x"],
                       "guards": ["g1", "nope"]}]}, "go: unknown guard 'nope'"),
    ({"transitions": [{"trigger": "go", "source": "a", "dest": "b", "roles": ["x"],
                       "effects": ["e1", "nope"]}]}, "go: unknown effect 'nope'"),
])
def test_a_definition_with_an_unknown_name_is_refused(changes, message):
    with pytest.raises(ValueError) as refused:
        Workflow(tiny(**changes), FakeHooks())
    assert str(refused.value) == message


def test_a_definition_without_labels_or_phases_builds():
    definition = tiny()
    del definition["trigger_labels"], definition["phases"]
    flow = Workflow(definition, FakeHooks())
    assert flow.trigger_label("go") == "go" and flow.phases == {}


class RecordingHooks(FakeHooks):
    """FakeHooks that write down what the engine asks of them, in order."""

    def __init__(self, visible: bool = True) -> None:
        self.calls: list[tuple] = []
        self.is_visible = visible
        self.guards = {"g1": lambda ctx: self.calls.append(("g1", ctx.spec.trigger)),
                       "g2": lambda ctx: self.calls.append(("g2", ctx.subject.state))}
        self.effects = {"e1": lambda ctx: self.calls.append(("e1", ctx.data))}

    def visible(self, actor, subject) -> bool:
        return self.is_visible

    def write_state(self, subject, state: str) -> None:
        self.calls.append(("write_state", state))
        subject.state = state

    def record(self, ctx, from_state: str) -> None:
        self.calls.append(("record", from_state, ctx.spec.dest))

    def notify(self, ctx, audiences) -> None:
        self.calls.append(("notify", tuple(audiences)))


class Row:
    def __init__(self, state: str) -> None:
        self.state = state


def test_firing_runs_guards_then_effects_then_writes_records_and_notifies():
    hooks = RecordingHooks()
    flow = Workflow(tiny(), hooks)
    row = Row("a")
    ctx = flow.fire(row, "go", {"x"}, {"k": 1}, now=None)
    assert ctx.spec is flow.spec_for("go", "a") and ctx.trigger == "go"
    assert hooks.calls == [("g1", "go"), ("g2", "a"), ("e1", {"k": 1}),
                           ("write_state", "b"), ("record", "a", "b"),
                           ("notify", ("applicant",))]
    assert row.state == "b"
    assert flow.machine.models == []  # the stand-in bound for the move is let go


@pytest.mark.parametrize(("state", "trigger", "actor", "visible", "error", "message"), [
    ("a", "go", {"x"}, False, NotVisible, "Dossier introuvable."),
    ("a", "fly", {"x"}, True, UnknownTrigger, "Action inconnue : fly."),
    ("a", "go", {"y"}, True, RoleNotAllowed,
     "Votre rôle ne permet pas cette action sur ce dossier."),
    ("b", "go", {"x"}, True, StateNotAllowed,
     "Action « Avancer » impossible dans l'état « État B »."),
])
def test_refusals_say_why_and_change_nothing(state, trigger, actor, visible, error, message):
    hooks = RecordingHooks(visible)
    row = Row(state)
    with pytest.raises(error) as refused:
        Workflow(tiny(), hooks).fire(row, trigger, actor, {}, now=None)
    assert (refused.value.message, str(refused.value)) == (message, message)
    assert (row.state, hooks.calls) == (state, [])
