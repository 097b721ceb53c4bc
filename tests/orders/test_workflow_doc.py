from pathlib import Path

from beian.orders.workflow import diagram


def test_docs_show_the_diagram_drawn_from_the_transition_table():
    doc = (Path(__file__).resolve().parents[2] / "docs" / "workflow.md").read_text("utf-8")
    assert f"```mermaid\n{diagram()}\n```" in doc, "regenerate with: beian workflow diagram"
