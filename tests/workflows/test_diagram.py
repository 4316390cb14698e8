from pathlib import Path

from workflows.diagram import BEGIN, END, render

DOC = Path(__file__).resolve().parents[2] / "docs" / "architecture.md"


def test_the_documented_diagram_is_generated_from_the_definition(app):
    text = DOC.read_text(encoding="utf-8")
    documented = text[text.index(BEGIN) + len(BEGIN):text.index(END)].strip()
    assert documented == render(), "run: aap workflow diagram --write docs/architecture.md"


def test_the_diagram_draws_every_transition(app):
    from workflows import get_workflow

    diagram = render()
    for spec in get_workflow().specs:
        for source in spec.source:
            assert f"{source} --> {spec.dest}: {spec.trigger}" in diagram
