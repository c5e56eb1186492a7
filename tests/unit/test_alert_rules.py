"""The Prometheus rules are valid and behave as their unit tests say (`promtool test rules`)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "monitoring" / "rules.yml"
RULE_TESTS = ROOT / "tests" / "monitoring" / "rules_test.yml"


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    """Run Debian's promtool (scripts/bootstrap.sh installs the prometheus package)."""
    found = shutil.which("promtool")
    assert found, "promtool is missing: make bootstrap installs Debian's prometheus package"
    return subprocess.run([found, *args], capture_output=True, text=True, timeout=120, check=False)


def test_rules_file_is_valid() -> None:
    result = promtool("check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr


def test_rules_pass_their_unit_tests() -> None:
    result = promtool("test", "rules", str(RULE_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr


def test_rule_tests_can_fail(tmp_path: Path) -> None:
    """A rule with a changed threshold makes the unit tests fail: they assert real outcomes."""
    (tmp_path / "deploy" / "monitoring").mkdir(parents=True)
    (tmp_path / "tests" / "monitoring").mkdir(parents=True)
    broken = RULES.read_text().replace("rate15m > 0.25", "rate15m > 0.5")
    assert broken != RULES.read_text()
    (tmp_path / "deploy" / "monitoring" / "rules.yml").write_text(broken)
    shutil.copy(RULE_TESTS, tmp_path / "tests" / "monitoring" / "rules_test.yml")
    result = promtool("test", "rules", str(tmp_path / "tests" / "monitoring" / "rules_test.yml"))
    assert result.returncode != 0, result.stdout
    assert "MP3ConverterJobFailureRateHigh" in result.stdout + result.stderr


def test_every_alert_has_a_unit_test_that_expects_it_to_fire() -> None:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    alerts = {rule["alert"] for group in groups for rule in group["rules"] if "alert" in rule}
    assert len(alerts) >= 9
    firing = {
        case["alertname"]
        for test in yaml.safe_load(RULE_TESTS.read_text())["tests"]
        for case in test.get("alert_rule_test", [])
        if case["exp_alerts"]
    }
    assert alerts <= firing, f"never expected to fire: {sorted(alerts - firing)}"


def test_readme_lists_every_alert() -> None:
    readme = (ROOT / "README.md").read_text()
    groups = yaml.safe_load(RULES.read_text())["groups"]
    for rule in (rule for group in groups for rule in group["rules"] if "alert" in rule):
        assert f"| {rule['alert']} |" in readme, f"README's Monitoring table lacks {rule['alert']}"
