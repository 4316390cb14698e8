"""Generate the Mermaid state diagram from the definition, into docs/architecture.md."""

from __future__ import annotations

from pathlib import Path

from workflows.engine import get_workflow

BEGIN = "<!-- BEGIN GENERATED STATE DIAGRAM (aap workflow diagram --write) -->"
END = "<!-- END GENERATED STATE DIAGRAM -->"


def render(name: str = "application") -> str:
    return f"```mermaid\n{get_workflow(name).mermaid()}\n```"


def write_into(path: Path, name: str = "application") -> None:
    text = path.read_text(encoding="utf-8")
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    path.write_text(text[:start] + "\n" + render(name) + "\n" + text[end:], encoding="utf-8")
