"""The stage registry is the one declaration of the pipeline: ordered, resolvable, documented."""
from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from evidence_store.stages.options import StageOptions
from evidence_store.stages.registry import BY_NAME, STAGES, markdown

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_names_are_unique_and_versioned():
    names = [s.name for s in STAGES]
    assert len(names) == len(set(names)) == len(BY_NAME)
    assert all(re.fullmatch(r"[a-z][a-z-]*", n) for n in names)
    assert all(s.version and s.summary for s in STAGES)


def test_registry_order_respects_every_dependency():
    seen: set[str] = set()
    for stage in STAGES:
        assert set(stage.after) <= seen, f"{stage.name} is listed before what it runs after"
        seen.add(stage.name)


def test_every_function_resolves_and_every_option_exists():
    fields = set(StageOptions.__dataclass_fields__)
    for stage in STAGES:
        assert callable(stage.function("run"))
        if stage.per_item:
            assert callable(stage.function("plan"))
        assert stage.option is None or stage.option in fields


def test_options_turn_stages_on_and_off():
    on = [s.name for s in STAGES if s.enabled(StageOptions(report=True))]
    off = [s.name for s in STAGES if s.enabled(StageOptions(carve=False))]
    assert on == [s.name for s in STAGES]
    assert "carve" not in off and "match-carved" not in off and "report" not in off and "content" in off


def test_architecture_doc_shows_the_registry():
    text = (DOCS / "architecture.md").read_text()
    shown = text.split("<!-- stages:begin (forensics stages --markdown) -->\n")[1].split("<!-- stages:end -->")[0]
    assert shown == markdown(), "docs/architecture.md is out of date: paste `forensics stages --markdown`"
    for stage in STAGES:
        assert f"- **{stage.name}**" in text, f"docs/architecture.md does not explain {stage.name}"


def test_cli_lists_the_stages_in_order():
    import json

    from evidence_store.cli import main

    result = CliRunner().invoke(main, ["stages", "--json"])
    assert result.exit_code == 0, result.output
    listed = [json.loads(line) for line in result.output.splitlines()]
    assert [s["name"] for s in listed] == [s.name for s in STAGES]
    assert listed[3]["per_item"] is True and listed[3]["after"] == ["walk"]


def test_options_from_dag_params_keep_secrets_out_of_the_record():
    options = StageOptions.from_params({"credentials": [["password", "hunter2"]], "carve": False,
                                        "examiner": "", "unknown": 1})
    assert options.credentials == (("password", "hunter2"),) and options.carve is False
    assert options.examiner is None
    assert "hunter2" not in repr(options.recorded())
