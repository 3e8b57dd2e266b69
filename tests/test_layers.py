"""Imports run one way: cli → runtime | batch → pipeline → stages → models, errors, settings.

Every `import` in a module counts, including one inside a function: a lazy import that
reaches up a layer is still a dependency on it. docs/ARCHITECTURE.md explains the layers.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SERVICE = ROOT / "service"

# Below the stages: what a stage may import from the service besides other stage modules.
FOUNDATION = ("service.errors", "service.models", "service.settings")
# What runs the pipeline; neither the pipeline nor a stage may import these.
ABOVE_PIPELINE = ("service.runtime", "service.batch", "service.cli")
# Stages are pure functions: no Kafka client, no stream framework, no metrics.
STAGE_FORBIDDEN_THIRD_PARTY = ("faust", "aiokafka", "prometheus_client", "mode")
STAGE_PACKAGES = tuple(sorted(p.name for p in (SERVICE / "stages").iterdir()
                              if (p / "__init__.py").exists()))


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(source: str, module: str, is_package: bool = False) -> set[str]:
    """Every module an import statement in `source` names, anywhere in the file; for
    `from a import b`, both `a` and `a.b` (b may be a submodule)."""
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def modules(under: Path) -> list[Path]:
    return sorted(p for p in under.rglob("*.py") if "__pycache__" not in p.parts)


def imports_of(path: Path) -> set[str]:
    return imported_modules(path.read_text(encoding="utf-8"), module_name(path),
                            is_package=path.name == "__init__.py")


def stage_package(name: str) -> str | None:
    """"clean" for service.stages.clean.text; None outside a stage package."""
    parts = name.split(".")
    if parts[:2] == ["service", "stages"] and len(parts) > 2 and parts[2] in STAGE_PACKAGES:
        return parts[2]
    return None


def stage_violations(module: str, imported: set[str]) -> list[str]:
    """What a module under service/stages must not import."""
    own = stage_package(module)
    bad = []
    for name in sorted(imported):
        if within(name, STAGE_FORBIDDEN_THIRD_PARTY):
            bad.append(f"{name} (a stage knows no Kafka, stream framework or metrics)")
        elif name == "service" or not within(name, ("service",)) or within(name, FOUNDATION):
            continue  # the root package exports only models and errors
        elif not within(name, ("service.stages",)):
            bad.append(f"{name} (above the stages)")
        elif own is not None and stage_package(name) not in (None, own):
            bad.append(f"{name} (another stage's package; share code in service/stages/*.py)")
    return bad


def pipeline_violations(imported: set[str]) -> list[str]:
    return [f"{name} (above the pipeline)" for name in sorted(imported)
            if within(name, ABOVE_PIPELINE)]


def foundation_violations(module: str, imported: set[str]) -> list[str]:
    """settings and errors import nothing from the service; models only errors/settings."""
    allowed = ("service.errors", "service.settings") if module == "service.models" else ()
    return [name for name in sorted(imported)
            if within(name, ("service",)) and not within(name, allowed) and name != module]


@pytest.mark.parametrize("path", modules(SERVICE / "stages"), ids=module_name)
def test_a_stage_imports_only_downward(path: Path) -> None:
    assert stage_violations(module_name(path), imports_of(path)) == []


def test_the_pipeline_imports_no_layer_above_it() -> None:
    assert pipeline_violations(imports_of(SERVICE / "pipeline.py")) == []


@pytest.mark.parametrize("name", ["errors", "settings", "models"])
def test_the_foundation_imports_nothing_above_it(name: str) -> None:
    path = SERVICE / f"{name}.py"
    assert foundation_violations(module_name(path), imports_of(path)) == []


def test_there_are_stage_packages_to_check() -> None:
    assert {"clean", "tag", "dedup"} <= set(STAGE_PACKAGES)


# The checks themselves: each must catch what it is there to catch.

def test_a_lazy_upward_import_in_a_stage_is_caught() -> None:
    source = "def load():\n    from service.pipeline import Pipeline\n    return Pipeline\n"
    imported = imported_modules(source, "service.stages.tag.stage")
    assert stage_violations("service.stages.tag.stage", imported) == [
        "service.pipeline (above the stages)",
        "service.pipeline.Pipeline (above the stages)",
    ]


@pytest.mark.parametrize(
    ("source", "module", "expected"),
    [
        ("from service import runtime\n", "service.stages.clean.text",
         ["service.runtime (above the stages)"]),
        ("from ...batch import process_file\n", "service.stages.clean.text",
         ["service.batch (above the stages)", "service.batch.process_file (above the stages)"]),
        ("import faust\n", "service.stages.dedup.engine",
         ["faust (a stage knows no Kafka, stream framework or metrics)"]),
        ("from service.stages.clean import text\n", "service.stages.tag.stage",
         ["service.stages.clean (another stage's package; share code in service/stages/*.py)",
          "service.stages.clean.text (another stage's package; share code in "
          "service/stages/*.py)"]),
        ("from service.stages.entities import unescape_text\n", "service.stages.tag.stage", []),
        ("from service.stages.tag.taxonomy import IPTC_TOPICS\n", "service.stages.tag.stage", []),
        ("from service.models import Article\nimport re\n", "service.stages.clean.stage", []),
    ],
)
def test_stage_rule_cases(source: str, module: str, expected: list[str]) -> None:
    assert stage_violations(module, imported_modules(source, module)) == expected


def test_the_pipeline_rule_catches_the_runtime() -> None:
    source = "import orjson\nfrom service.runtime.agents import register_agents\n"
    assert pipeline_violations(imported_modules(source, "service.pipeline")) == [
        "service.runtime.agents (above the pipeline)",
        "service.runtime.agents.register_agents (above the pipeline)",
    ]


def test_the_foundation_rule_catches_a_model_importing_a_stage() -> None:
    source = "from service.stages.tag import Tagger\nfrom service.errors import Rejection\n"
    assert foundation_violations("service.models", imported_modules(source, "service.models")) == [
        "service.stages.tag", "service.stages.tag.Tagger"]


@pytest.mark.parametrize("folder", ["service", "bench", "support"])
def test_nothing_outside_the_tests_imports_them(folder: str) -> None:
    """bench/ and support/ share helpers with the tests through support/, not the other
    way round; the service never imports either."""
    found = {
        f"{module_name(path)} -> {name}"
        for path in modules(ROOT / folder)
        for name in imports_of(path)
        if within(name, ("tests",)) or (folder == "service" and within(name, ("support",
                                                                                "bench")))
    }
    assert not found, sorted(found)
