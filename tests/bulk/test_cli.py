"""``beian synth | import | export`` as commands: output, summaries, exit codes."""

from __future__ import annotations

import json

import pytest

from beian.cli import main
from beian.lookup import synth
from beian.registry import bulk
from beian.registry.models import Subject
from tests.bulk.conftest import registry_dump, wipe_registry, write_lines
from tests.bulk.test_import import line

pytestmark = pytest.mark.django_db(transaction=True)


def test_import_of_a_missing_file_exits_2_with_a_message(tmp_path, capsys):
    assert main(["import", str(tmp_path / "missing.jsonl")]) == 2
    err = capsys.readouterr().err
    assert "no such file" in err and "missing.jsonl" in err and "Traceback" not in err


def test_resume_from_standard_input_and_bad_batch_size_exit_2(tmp_path, capsys):
    assert main(["import", "-", "--resume"]) == 2
    assert "--resume" in capsys.readouterr().err
    path = write_lines(tmp_path / "a.jsonl", [line(1)])
    assert main(["import", str(path), "--batch-size", "0"]) == 2


def test_synth_to_a_file_and_to_stdout(tmp_path, capsys):
    out = tmp_path / "s.jsonl"
    assert main(["synth", "--subjects", "60", "--seed", "5", "--output", str(out), "--quiet"]) == 0
    assert out.read_text("utf-8").splitlines() == list(synth.lines(60, 5))
    assert not list(tmp_path.glob(".*part"))  # written beside, renamed into place
    assert main(["synth", "--subjects", "60", "--seed", "5"]) == 0
    captured = capsys.readouterr()
    assert captured.out == out.read_text("utf-8")
    assert "60 subjects" in captured.err
    assert main(["synth", "--subjects", "0"]) == 2


def test_import_summary_errors_and_exit_codes(tmp_path, capsys):
    good = write_lines(tmp_path / "good.jsonl", [line(n) for n in range(1, 6)])
    assert main(["import", str(good), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "inserted 5" in out and "failed 0" in out and "rows/s" in out
    mixed = write_lines(tmp_path / "mixed.jsonl", [line(6), "{oops", {**line(7), "province": "44"}, line(8)])
    assert main(["import", str(mixed), "--quiet"]) == 1  # some lines rejected
    captured = capsys.readouterr()
    assert "line 2: " in captured.err and "line 3: " in captured.err
    assert "inserted 2" in captured.out and "failed 2" in captured.out
    assert Subject.objects.count() == 7


def test_resume_after_a_changed_file_exits_2(tmp_path, capsys):
    path = write_lines(tmp_path / "c.jsonl", [line(1)])
    bulk._write_checkpoint(path, {"line": 1, "offset": 5, "tail_sha256": "0" * 64})
    assert main(["import", str(path), "--resume", "--quiet"]) == 2
    assert "without --resume" in capsys.readouterr().err


def test_export_import_through_the_commands(tmp_path, capsys):
    source = write_lines(tmp_path / "src.jsonl", [line(n, sites=2) for n in range(1, 4)])
    assert main(["import", str(source), "--quiet"]) == 0
    before = registry_dump()
    exported = tmp_path / "export.jsonl"
    assert main(["export", "--output", str(exported), "--quiet"]) == 0
    assert "exported 3 subjects" in capsys.readouterr().err
    assert [json.loads(t)["number"] for t in exported.read_text("utf-8").splitlines()] == [
        line(n)["number"] for n in range(1, 4)
    ]
    assert main(["export"]) == 0
    assert capsys.readouterr().out == exported.read_text("utf-8")  # stdout: the same bytes
    wipe_registry()
    assert main(["import", str(exported), "--quiet"]) == 0
    assert registry_dump() == before
