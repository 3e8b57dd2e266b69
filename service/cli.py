"""The `newsflow` command: build Settings once, configure logging, run a subcommand."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click

from service.logging import configure_logging
from service.settings import Settings


def _settings(**overrides: object) -> Settings:
    settings = Settings(**{k: v for k, v in overrides.items() if v is not None})  # type: ignore[arg-type]
    configure_logging(settings)
    return settings


@click.group()
def main() -> None:
    """Newsflow: clean, tag and deduplicate news articles on Kafka."""


@main.command()
@click.argument("source", type=click.Path(dir_okay=False, path_type=Path), required=False)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write results (default: stdout).",
)
def process(source: Path | None, output: Path | None) -> None:
    """Run the pipeline in-process on a JSONL file: one output line per input line."""
    from service.batch import process_file

    counts = process_file(source if source and str(source) != "-" else None, output, _settings())
    summary = ", ".join(f"{topic}={n}" for topic, n in sorted(counts.items()))
    click.echo(f"processed {sum(counts.values())} lines: {summary}", err=True)


@main.command()
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--topic", default=None, help="Override the raw topic name.")
def produce(source: Path, topic: str | None) -> None:
    """Publish raw articles (JSONL, one per line) to the raw topic."""
    from service.runtime.producer import produce_file

    settings = _settings()
    sent = asyncio.run(produce_file(source, settings, topic or settings.topics.raw))
    click.echo(f"published {sent} messages to {topic or settings.topics.raw}", err=True)


@main.command()
def worker() -> None:
    """Run the streaming worker (consumes the raw topic until stopped)."""
    from service.runtime.worker import run_worker

    run_worker(_settings())


@main.command()
def topics() -> None:
    """Create Newsflow's topics on the configured cluster if they are missing."""
    from service.runtime.admin import declared_topics, ensure_topics

    settings = _settings()
    created = asyncio.run(ensure_topics(settings))
    for name, partitions in declared_topics(settings).items():
        state = "created" if name in created else "exists"
        click.echo(f"{name}\tpartitions={partitions}\t{state}")


@main.command()
@click.argument("topic_names", nargs=-1)
@click.option("--max", "max_records", type=int, default=None, help="Stop after this many.")
@click.option(
    "--idle",
    type=float,
    default=5.0,
    show_default=True,
    help="Stop after this many seconds with nothing new.",
)
@click.option("--json", "as_json", is_flag=True, help="Print whole records as JSON lines.")
def tail(topic_names: tuple[str, ...], max_records: int | None, idle: float, as_json: bool) -> None:
    """Print records from output topics (default: clean, duplicates and rejected)."""
    import orjson

    from service.runtime.tail import read_topics, summarise

    settings = _settings()
    names = list(topic_names) or [
        settings.topics.clean,
        settings.topics.duplicates,
        settings.topics.rejected,
    ]

    async def run() -> None:
        async for record in read_topics(
            settings, names, max_records=max_records, idle_seconds=idle
        ):
            if as_json:
                click.echo(orjson.dumps({"topic": record.topic, "value": record.value}))
            else:
                click.echo(summarise(record))

    asyncio.run(run())


@main.command("schemas")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("schemas"))
def export_schemas(out: Path) -> None:
    """Write the JSON Schema contract files."""
    from service.models import write_schemas

    for path in write_schemas(out):
        click.echo(str(path))


@main.group()
def sections() -> None:
    """Train and evaluate a section classifier on a labelled archive."""


@sections.command("train")
@click.option("--data", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--folds", type=int, default=5, show_default=True)
def sections_train(data: Path, out: Path, folds: int) -> None:
    """Train TF-IDF + a linear model from {text, title, section} JSONL lines."""
    from service.section_model import train

    click.echo(train(data, out, folds=folds))


@sections.command("eval")
@click.option("--data", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True)
@click.option("--folds", type=int, default=5, show_default=True)
def sections_eval(data: Path, folds: int) -> None:
    """Print k-fold accuracy and the confusion matrix."""
    from service.section_model import evaluate

    click.echo(evaluate(data, folds=folds))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
