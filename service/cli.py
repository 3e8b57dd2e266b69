"""The `newsflow` command: build Settings once, configure logging, run a subcommand."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from service.logging import configure_logging
from service.memory import return_freed_arrays
from service.settings import Settings


def _settings(**overrides: object) -> Settings:
    settings = Settings(**{k: v for k, v in overrides.items() if v is not None})  # type: ignore[arg-type]
    configure_logging(settings)
    return_freed_arrays()
    return settings


def _progress(desc: str, total: int | None) -> Any:
    """A byte-counting progress bar on a terminal; silent when stderr is not one."""
    from tqdm import tqdm

    return tqdm(
        total=total,
        unit="B",
        unit_scale=True,
        desc=desc,
        disable=not sys.stderr.isatty(),
        file=sys.stderr,
    )


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
@click.option(
    "--window",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Dedup window in seconds of event time (default: the whole input; the worker's "
    "is NEWSFLOW_DEDUP__WINDOW_SECONDS, 7 days).",
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    help="Processes that decode, clean and tag (default: every core this process may use); "
    "dedup stays in one. The output is the same for any number.",
)
def process(
    source: Path | None, output: Path | None, window: float | None, jobs: int | None
) -> None:
    """Run the pipeline in-process on JSON lines (plain, .gz, .zst) or a WARC (.warc,
    .warc.gz): one output line per input line, or per HTML response of the WARC."""
    from service.batch import default_jobs, process_file
    from service.sources import SourceStats

    settings = _settings()
    dedup = settings.dedup.model_copy(update={"window_seconds": window})
    settings = settings.model_copy(update={"dedup": dedup})
    path = source if source and str(source) != "-" else None
    stats = SourceStats()
    # The bar counts bytes read, so it knows the total for files and grows for stdin.
    with _progress("process", path.stat().st_size if path else None) as bar:
        counts = process_file(
            path, output, settings, progress=bar.update, stats=stats, jobs=jobs or default_jobs()
        )
    summary = ", ".join(f"{topic}={n}" for topic, n in sorted(counts.items()))
    click.echo(f"read {stats.summary()}", err=True)
    unit = "lines" if stats.kind == "jsonl" else "records"
    click.echo(f"processed {sum(counts.values())} {unit}: {summary}", err=True)


@main.command()
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--topic", default=None, help="Override the raw topic name.")
def produce(source: Path, topic: str | None) -> None:
    """Publish raw articles to the raw topic: JSON lines (plain, .gz, .zst) as they are,
    or a WARC's HTML responses as RawArticle JSON. Unreadable records go to the rejected
    topic."""
    from service.publish import produce_source
    from service.sources import SourceStats

    settings = _settings()
    stats = SourceStats()
    raw = topic or settings.topics.raw
    with _progress("produce", source.stat().st_size) as bar:
        sent = asyncio.run(produce_source(source, settings, raw, progress=bar.update, stats=stats))
    click.echo(f"read {stats.summary()}", err=True)
    for name, n in sorted(sent.items()):
        click.echo(f"published {n} messages to {name}", err=True)
    if not sent:
        click.echo(f"published 0 messages to {raw}", err=True)


def _when(value: str | None) -> datetime | None:
    """An RFC 3339 time (a naive one is UTC), for --since and --until."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"not an RFC 3339 time: {value}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@main.command()
@click.option("--reason", "reasons", multiple=True, help="Only this error code (repeatable).")
@click.option("--since", default=None, help="Only dead letters received at or after this time.")
@click.option("--until", default=None, help="Only dead letters received before this time.")
@click.option(
    "--origin",
    "origins",
    multiple=True,
    help="Only dead letters read from this topic (repeatable; default: the raw topic).",
)
@click.option(
    "--partition", "partitions", type=int, multiple=True, help="Only this origin partition."
)
@click.option(
    "--max-replays",
    type=click.IntRange(min=1),
    default=3,
    show_default=True,
    help="Refuse a dead letter whose input was already replayed this many times.",
)
@click.option("--to", "target", default=None, help="Publish to this topic (default: raw).")
@click.option("--dry-run", is_flag=True, help="Report what would be replayed, by reason.")
def replay(
    reasons: tuple[str, ...],
    since: str | None,
    until: str | None,
    origins: tuple[str, ...],
    partitions: tuple[int, ...],
    max_replays: int,
    target: str | None,
    dry_run: bool,
) -> None:
    """Re-publish the original payloads of dead letters to the raw topic, each once."""
    from service.replay import Filters
    from service.replay import replay as run_replay

    settings = _settings()
    filters = Filters(
        reasons=frozenset(reasons),
        since=_when(since),
        until=_when(until),
        origin_topics=frozenset(origins),
        origin_partitions=frozenset(partitions),
    )
    report = asyncio.run(
        run_replay(settings, filters, max_replays=max_replays, dry_run=dry_run, target=target)
    )
    for line in report.lines():
        click.echo(line)


@main.command()
def worker() -> None:
    """Run the streaming worker (consumes the raw topic until stopped)."""
    from service.runtime.worker import run_worker

    run_worker(_settings())


@main.group(invoke_without_command=True)
@click.pass_context
def topics(ctx: click.Context) -> None:
    """List, create and describe topics. Alone: create Newsflow's topics if missing."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(topics_create)


@topics.command("list")
@click.option("--all", "show_all", is_flag=True, help="Include internal topics (__*).")
def topics_list(show_all: bool) -> None:
    """Every topic on the cluster with its partitions and replication factor."""
    from service.runtime.admin import declared_topics, describe_topics, list_topic_names

    settings = _settings()
    ours = declared_topics(settings)

    async def run() -> None:
        names = await list_topic_names(settings, include_internal=show_all)
        for info in await describe_topics(settings, names, with_offsets=False):
            mark = "\tnewsflow" if info.name in ours else ""
            click.echo(
                f"{info.name}\tpartitions={info.partitions}\treplication={info.replication}{mark}"
            )

    asyncio.run(run())


@topics.command("create")
@click.argument("names", nargs=-1)
@click.option(
    "--partitions",
    type=click.IntRange(min=1),
    default=None,
    help="Partitions for named topics (default: NEWSFLOW_TOPICS__PARTITIONS).",
)
@click.option(
    "--replication",
    type=click.IntRange(min=1),
    default=None,
    help="Replication factor (default: NEWSFLOW_TOPICS__REPLICATION_FACTOR).",
)
def topics_create(names: tuple[str, ...], partitions: int | None, replication: int | None) -> None:
    """Create the named topics, or Newsflow's own topics when none are named."""
    from service.runtime.admin import create_topics, declared_topics, ensure_topics

    settings = _settings()
    if not names:
        created = asyncio.run(ensure_topics(settings))
        for name, count in declared_topics(settings).items():
            state = "created" if name in created else "exists"
            click.echo(f"{name}\tpartitions={count}\t{state}")
        return
    result = asyncio.run(
        create_topics(
            settings,
            names,
            partitions or settings.topics.partitions,
            replication or settings.topics.replication_factor,
        )
    )
    for name, new in result.items():
        click.echo(f"{name}\t{'created' if new else 'exists'}")


@topics.command("describe")
@click.argument("names", nargs=-1)
def topics_describe(names: tuple[str, ...]) -> None:
    """Partitions, replication and end offsets (default: Newsflow's topics)."""
    from service.runtime.admin import declared_topics, describe_topics

    settings = _settings()
    infos = asyncio.run(describe_topics(settings, names or declared_topics(settings)))
    missing = []
    for info in infos:
        if not info.exists:
            click.echo(f"{info.name}\tmissing")
            missing.append(info.name)
            continue
        click.echo(
            f"{info.name}\tpartitions={info.partitions}\treplication={info.replication}"
            f"\tend_offset_total={info.messages}"
        )
        for partition, offset in sorted(info.end_offsets.items()):
            click.echo(f"  partition={partition}\tend_offset={offset}")
    if missing:
        raise click.exceptions.Exit(1)


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
@click.option(
    "--label-map", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
    help='JSON {"Metro": "society", ...}: your own section names and their IPTC parents. '
    "A label that is neither IPTC nor mapped gets the topic the lexicon gives most of "
    "its examples.",
)
def sections_train(data: Path, out: Path, folds: int, label_map: Path | None) -> None:
    """Train TF-IDF + a linear model from {text, title, section} JSONL lines."""
    from service.stages.tag.section_model import train

    click.echo(train(data, out, folds=folds, label_map=label_map))


@sections.command("eval")
@click.option("--data", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True)
@click.option("--folds", type=int, default=5, show_default=True)
@click.option(
    "--label-map", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
    help="the same label map as for `train`: a mapped label is kept as its own class.",
)
def sections_eval(data: Path, folds: int, label_map: Path | None) -> None:
    """Print k-fold accuracy with its 95 % interval, the confusion matrix and the
    accuracy per confidence band."""
    from service.stages.tag.section_model import evaluate

    click.echo(evaluate(data, folds=folds, label_map=label_map))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
