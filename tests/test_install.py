"""A fresh venv, with the pip `python -m venv` ships (not upgraded), installs the package,
and every module under service/ imports.

A newer pip hides missing dependencies (issue 19: lxml 6 without lxml_html_clean), so
this test never upgrades it. It copies the working tree's package sources to a temporary
directory first, so the build leaves nothing (build/, *.egg-info) in the checkout."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.subprocess

ROOT = Path(__file__).resolve().parents[1]
# What the build reads: the project file, the readme it names, and the package.
SOURCES = ("pyproject.toml", "README.md", "service")

# Run in the new venv: import service and every module under it, except __main__ (which
# runs the CLI); print each failure and exit 1 if there was one.
WALK = """
import importlib, pkgutil, sys
import service
failures = []
names = ["service"]
for info in pkgutil.walk_packages(service.__path__, "service.",
                                  onerror=lambda name: failures.append(name)):
    if not info.name.endswith(".__main__"):
        names.append(info.name)
for name in names:
    try:
        importlib.import_module(name)
    except Exception as exc:
        failures.append(f"{name}: {type(exc).__name__}: {exc}")
print(service.__file__)
print(len(names), "modules")
print("\\n".join(failures))
sys.exit(1 if failures else 0)
"""


@pytest.fixture
def workdir() -> Iterator[Path]:
    """A temporary directory, removed afterwards (a venv is hundreds of MB)."""
    path = Path(tempfile.mkdtemp(prefix="newsflow-install-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def child_env() -> dict[str, str]:
    """This environment without anything that would point the child at the checkout."""
    env = {k: v for k, v in os.environ.items()
           if k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PIP_REQUIRE_VIRTUALENV"}}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def copy_sources(target: Path) -> Path:
    target.mkdir()
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))
        else:
            shutil.copy2(source, target / name)
    return target


def test_a_fresh_venv_with_stock_pip_installs_and_imports_every_module(workdir: Path) -> None:
    source = copy_sources(workdir / "src")
    venv = workdir / "venv"
    env = child_env()
    # The base interpreter, not this venv's: `-m venv` then bundles its own stock pip.
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", str(venv)], check=True, env=env, timeout=300)
    python = venv / "bin" / "python"

    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-input", str(source)],
        capture_output=True, text=True, env=env, cwd=workdir, timeout=1800,
    )
    assert install.returncode == 0, install.stderr[-4000:]

    walk = subprocess.run(
        [str(python), "-c", WALK], capture_output=True, text=True, env=env, cwd=workdir,
        timeout=600,
    )
    assert walk.returncode == 0, (walk.stdout + walk.stderr)[-4000:]
    imported_from = Path(walk.stdout.splitlines()[0])
    assert venv in imported_from.parents, f"imported {imported_from}, not the installed copy"
