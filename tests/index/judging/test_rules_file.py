"""Rules files (RULES_FILE): the verdict's numbers refitted on a newsroom's reviews, read at start.

The file's format and checks need no model; that the service then decides with them is
shown with the real judge on the sample article."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from index.judging.stance import (
    CONTRADICTED,
    NOT_FOUND,
    RULES,
    SUPPORTED,
    RulesFileError,
    VerdictRules,
    read_rules_file,
    write_rules_file,
)
from service.config import Settings
from service.engine import _load_rules

JUDGE = "nli-minilm-l6 sha256:abc"
FITTED = VerdictRules(0.35, 0.55, 0.8, {SUPPORTED: ((0.4, 0.5), (0.8, 0.9)), CONTRADICTED: ((0.5, 0.45),)})


def test_a_rules_file_round_trips(tmp_path):
    path = write_rules_file(tmp_path / "rules.json", FITTED, JUDGE, {"reviews": 120})
    rules, fitted_on = read_rules_file(path, JUDGE)
    assert rules == FITTED and fitted_on == {"reviews": 120}


def test_a_file_fitted_for_another_judge_is_refused(tmp_path):
    path = write_rules_file(tmp_path / "rules.json", FITTED, JUDGE, {})
    with pytest.raises(RulesFileError, match=r"fitted for the judge .* refit"):
        read_rules_file(path, "another-judge sha256:def")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("format"), "not a rules file"),
        (lambda d: d["rules"].update(support_probability=1.5), "not a probability"),
        (lambda d: d["rules"].update(mixed_probability="high"), "not a probability"),
        (lambda d: d["rules"].pop("contradiction_probability"), "malformed"),
        (lambda d: d["rules"]["confidence_knots"].update(supported=[[0.8, 0.9], [0.4, 0.5]]), "not ascending"),
        (lambda d: d["rules"]["confidence_knots"].update(maybe=[[0.5, 0.5]]), "not a verdict"),
        (lambda d: d["rules"]["confidence_knots"].update(supported=[[0.5]]), "malformed"),
    ],
)
def test_a_malformed_file_is_refused_with_the_reason(tmp_path, change, message):
    path = write_rules_file(tmp_path / "rules.json", FITTED, JUDGE, {})
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document))
    with pytest.raises(RulesFileError, match=message):
        read_rules_file(path, JUDGE)


def test_unreadable_files_are_refused(tmp_path):
    with pytest.raises(RulesFileError, match="cannot read"):
        read_rules_file(tmp_path / "missing.json", JUDGE)
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(RulesFileError, match="cannot read"):
        read_rules_file(tmp_path / "bad.json", JUDGE)


def test_the_service_takes_the_file_only_with_a_judge(tmp_path):
    path = write_rules_file(tmp_path / "rules.json", FITTED, JUDGE, {"reviews": 3})
    judge = SimpleNamespace(identity=JUDGE)
    assert _load_rules(Settings(), judge) == (RULES, {"file": None})
    assert _load_rules(Settings(rules_file=str(path)), judge) == (
        FITTED,
        {"file": str(path), "fitted_on": {"reviews": 3}},
    )
    assert _load_rules(Settings(rules_file=str(path)), None) == (RULES, {"file": None})  # degraded: its own rules
    with pytest.raises(RulesFileError):
        _load_rules(Settings(rules_file=str(path)), SimpleNamespace(identity="other"))


def test_settings_read_rules_file_from_the_environment():
    assert Settings.from_env({"RULES_FILE": "/etc/claimcheck/rules.json"}).rules_file == "/etc/claimcheck/rules.json"


def test_a_worker_decides_with_the_rules_file(tmp_path, sample_index_dir, nli, onnx_dir):
    """A file whose cut-offs no reading reaches turns every verdict to not_found; a wrong judge
    keeps the worker not ready, with the reason."""
    from service.engine import VerifierHolder

    claim = "Russia launched 133 drones overnight"
    strict = VerdictRules(1.0, 1.0, 1.0)
    path = write_rules_file(tmp_path / "rules.json", strict, nli.identity, {"note": "nothing decides"})
    settings = Settings(index_dir=str(sample_index_dir), onnx_dir=str(onnx_dir), rules_file=str(path))
    holder = VerifierHolder()
    holder.load(settings)
    assert holder.ready, holder.reason()
    assert holder.verifier.rules == strict
    assert holder.verifier.stats()["judge"]["rules"] == {"file": str(path), "fitted_on": {"note": "nothing decides"}}
    assert holder.verifier.verify_claim(claim).verdict == NOT_FOUND

    other = write_rules_file(tmp_path / "other.json", strict, "another-judge", {})
    refused = VerifierHolder()
    refused.load(Settings(index_dir=str(sample_index_dir), onnx_dir=str(onnx_dir), rules_file=str(other)))
    assert not refused.ready and "another-judge" in refused.reason()


def test_the_shipped_rules_decide_that_claim(verifier):
    assert verifier.verify_claim("Russia launched 133 drones overnight").verdict == SUPPORTED
