"""A fault harness that does not trust us (issue 22, item 1).

It drives Newsflow only from outside: `python -m service topics|worker|process` as
subprocesses, configured by environment variables. It never imports the dedup engine
or the runtime, and it counts with librdkafka (confluent-kafka), a Kafka client that
shares no code with faust or aiokafka, with `isolation.level=read_committed`.

Pieces, each usable alone:

* `ag_news_inputs`: RawArticle JSON lines from real wire items
  (`../shared/datasets/ag_news/`, headline + lead), each with a stable id, a source and
  a `fetched_at` spread over three days, plus exact and near-duplicate re-sends under
  new ids, on another site, with a later or an earlier `fetched_at`, sent before or
  after their originals (so some copies are older than the item they copy, and some
  arrive first).
* `PacedProducer`: an idempotent librdkafka producer that publishes at a set rate in a
  background thread while the faults happen.
* `OutputWatch`: a read_committed tail of the output topics during the run; it measures
  progress stalls (no new input id resolved while inputs are outstanding).
* `FaultInjector`: seeded fault times; worker SIGKILL of its process group and a
  restart, worker SIGSTOP for longer than the session timeout then SIGCONT, broker
  SIGKILL and `kafka.sh restart`. It times how long until `/readyz` says 200 again.
* `check`: every output topic read from the start with read_committed, each input id
  counted, its final verdict compared with `newsflow process` on the same input.
* `run_scenario` puts them together and returns a `Report`.

Rules the checker applies:

* An outcome is a record on `clean`, `duplicates` or `rejected` without a `correction`
  field. Each acknowledged input id needs exactly one (`twice` counts ids with more;
  under at_least_once those are the repeats a crash may cause, and are only counted).
* The final verdict of an id is the last record of it carrying `correction` (consumers
  upsert by id), else its outcome. It is `(topic, status, duplicate_of)`, or
  `(rejected, error code, None)`; the same rule is applied to the batch output, so
  corrections that batch mode publishes count the same way.
* A stall is time with no new input id resolved while some acknowledged input has no
  outcome yet. The bound (`STALL_BOUND_SECONDS`, 60 s) is three times the slowest
  recovery the README reports for a killed exactly_once worker (about 20 s); a run that
  ends with inputs held back for longer than the bound is a wedge.
"""

from __future__ import annotations

import csv
import errno
import gzip
import io
import logging
import os
import random
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from support.kafka import ROOT, Broker, WorkerProcess, free_port, isolated_env, restart_broker

AG_NEWS = ROOT.parent / "shared" / "datasets" / "ag_news" / "train-12k.csv.gz"
STALL_BOUND_SECONDS = 60.0
OUTPUT_ROLES = ("clean", "duplicates", "rejected")
_SECTIONS = {"1": "world", "2": "sport", "3": "business", "4": "technology"}
_EPOCH = datetime(2026, 11, 1, tzinfo=UTC)
# librdkafka's own log lines (connection refused while a broker is down...) go through
# logging, not straight to stderr.
_CLIENT_LOG = logging.getLogger("outside.librdkafka")
_CLIENT_LOG.addHandler(logging.NullHandler())
_CLIENT_LOG.propagate = False  # "connection refused" while the broker is down, by design


# --- real text input ----------------------------------------------------------------


def ag_news_rows() -> list[tuple[str, str, str]]:
    """(class, title, description) rows of the AG News sample; pytest.skip if absent."""
    if not AG_NEWS.exists():
        import pytest

        pytest.skip(f"{AG_NEWS.parent} is not present")
    text = gzip.decompress(AG_NEWS.read_bytes()).decode("utf-8")
    reader = csv.reader(io.StringIO(text))
    next(reader)  # Class Index,Title,Description
    return [(row[0], row[1], row[2]) for row in reader if len(row) == 3]


def _tidy(text: str) -> str:
    """The corpus' published quirks: `#39;` for ', `#36;` for $, `\\` for a line break."""
    return text.replace("#39;", "'").replace("#36;", "$").replace("\\", " ").strip()


def _edit(text: str, rng: random.Random, edits: int) -> str:
    """A near copy: a few words swapped, as a syndicating copy editor would."""
    words = text.split(" ")
    editable = [i for i, word in enumerate(words) if word.isalpha() and word.islower()]
    for i in rng.sample(editable, min(edits, len(editable))):
        words[i] = rng.choice(["also", "reportedly", "now", "again", "still"])
    return " ".join(words)


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def ag_news_inputs(
    count: int, seed: int = 22, exact_copies: float = 0.08, near_copies: float = 0.05
) -> list[dict[str, Any]]:
    """`count` RawArticle records, in send order: originals (ids `ag<row>`) and re-sends
    (ids `ag<row>-x<k>` exact, `ag<row>-n<k>` near), fetched over three days.

    A re-send goes out on another site, with `fetched_at` within 6 hours of its
    original, earlier or later at random, and is placed anywhere in the stream, so
    it may arrive before its original."""
    rng = random.Random(seed)
    rows = ag_news_rows()
    copies = max(0, round(count * (exact_copies + near_copies)))
    originals = count - copies
    span = timedelta(days=3)
    records: list[dict[str, Any]] = []
    for i, (label, title, lead) in enumerate(rows[:originals]):
        section = _SECTIONS.get(label, "news")
        source = f"site{i % 9}.example"
        fetched = _EPOCH + span * (i / max(1, originals)) + timedelta(seconds=rng.randint(0, 900))
        item = f"ag{i:05d}"
        records.append({
            "id": item,
            "url": f"https://{source}/{section}/{item}",
            "source": source,
            "title": _tidy(title),
            "text": _tidy(lead),
            "fetched_at": _stamp(fetched),
        })
    sent = list(records)
    exact = round(count * exact_copies)
    for k in range(copies):
        original = rng.choice(records)
        near = k >= exact
        text = _edit(original["text"], rng, 1) if near else original["text"]
        source = f"syndicate{k % 5}.example"
        copy_id = f"{original['id']}-{'n' if near else 'x'}{k}"
        base = datetime.strptime(original["fetched_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        shift = timedelta(seconds=rng.randint(-6 * 3600, 6 * 3600))
        copy = {
            **original,
            "id": copy_id,
            "url": f"https://{source}/{copy_id}",
            "source": source,
            "text": text,
            "fetched_at": _stamp(base + shift),
        }
        sent.insert(rng.randint(0, len(sent)), copy)
    return sent


def input_lines(records: Iterable[dict[str, Any]]) -> list[tuple[str, bytes]]:
    return [(str(r["id"]), orjson.dumps(r)) for r in records]


# --- workers and the broker, from outside ---------------------------------------------


def _beside(env: Mapping[str, str]) -> dict[str, str]:
    """Our env plus `env`, importing `service` from the tree this harness sits in (so a
    snapshot of another commit runs its own code, not the editable install's)."""
    merged = {**os.environ, **env}
    merged["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT), merged.get("PYTHONPATH", "")) if p)
    return merged


class GroupWorker(WorkerProcess):
    """`python -m service worker` as the leader of its own process group, so a fault
    reaches everything it may have started (os.killpg)."""

    def start(self) -> GroupWorker:
        env = _beside(self.env)
        data_dir = self.log_path.parent / f"data-{uuid.uuid4().hex[:6]}"
        env.setdefault("NEWSFLOW_DATA_DIR", str(data_dir))
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", *self.args], env=env, stdout=log, stderr=subprocess.STDOUT,
            cwd=self.cwd or self.log_path.parent, start_new_session=True,
        )
        log.close()
        return self

    def signal_group(self, sig: int) -> None:
        if self.process is not None and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                pass

    def kill_group(self) -> None:
        if self.process is None:
            return
        self.signal_group(signal.SIGKILL)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL does not fail
            self.process.kill()
            self.process.wait()

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(  # noqa: S310 - 127.0.0.1 only
                f"http://127.0.0.1:{self.web_port}/readyz", timeout=1
            ) as response:
                return int(response.status) == 200
        except (OSError, urllib.error.URLError):
            return False

    def state(self) -> str | None:
        """What /readyz says holds it back ("recovering", "rebalancing", ...), or None
        while its web server does not answer."""
        try:
            with urllib.request.urlopen(  # noqa: S310 - 127.0.0.1 only
                f"http://127.0.0.1:{self.web_port}/readyz", timeout=1
            ) as response:
                body = response.read()
        except urllib.error.HTTPError as error:
            body = error.read()
        except (OSError, urllib.error.URLError):
            return None
        try:
            return str(orjson.loads(body).get("state"))
        except (orjson.JSONDecodeError, AttributeError):
            return None

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


def wait_state(worker: GroupWorker, states: set[str], timeout: float,
               fresh: bool = True) -> str | None:
    """Poll until the worker's /readyz names one of `states`; the state seen, or None.
    A `fresh` worker seen ready went through the states unseen: too late."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and worker.alive():
        state = worker.state()
        if state in states:
            return state
        if fresh and state == "ready":
            return None
        time.sleep(0.05)
    return None


def wait_all_ready(workers: Sequence[GroupWorker], since: float, timeout: float,
                   give_up_if_dead: bool = True) -> float | None:
    """Seconds from `since` until every worker's /readyz says 200, or None."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(w.ready() for w in workers):
            return time.monotonic() - since
        if give_up_if_dead and not all(w.alive() for w in workers):
            return None
        time.sleep(0.2)
    return None


def broker_pid(broker: Broker) -> int | None:
    assert broker.directory is not None
    path = broker.directory / "broker.pid"
    return int(path.read_text().strip()) if path.exists() else None


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state in ("Z", "X")


def kill_broker(broker: Broker, down_seconds: float) -> float:
    """SIGKILL the broker's JVM, leave it down, `kafka.sh restart` it on the same data
    and ports; returns the monotonic time it listens again."""
    pid = broker_pid(broker)
    assert pid is not None, "no broker.pid: is this a broker of our own?"
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while not _gone(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(down_seconds)
    restart_broker(broker)
    return time.monotonic()


def newsflow(args: Sequence[str], env: Mapping[str, str], timeout: float = 600) -> str:
    """One `python -m service ...` command with `env` on top of ours; its stdout."""
    done = subprocess.run(
        [sys.executable, "-m", "service", *args], env=_beside(env),
        capture_output=True, text=True, timeout=timeout, cwd=ROOT,
    )
    if done.returncode != 0:
        raise RuntimeError(f"newsflow {' '.join(args)} failed: {done.stderr[-3000:]}")
    return done.stdout


# --- producer -------------------------------------------------------------------------


class PacedProducer(threading.Thread):
    """Publishes `lines` (id, value) to `topic` at `rate` per second, keyed by id, with
    an idempotent librdkafka producer (acks=all), in a background thread."""

    def __init__(self, bootstrap: str, topic: str, lines: Sequence[tuple[str, bytes]],
                 rate: float) -> None:
        super().__init__(name="outside-producer", daemon=True)
        from confluent_kafka import Producer

        self.topic, self.lines, self.rate = topic, lines, rate
        self.producer = Producer({
            "bootstrap.servers": bootstrap,
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": 5,
            "message.timeout.ms": 300_000,
            "client.id": "outside-producer",
            "logger": _CLIENT_LOG,
        })
        self.acked: dict[str, float] = {}
        self.failed: dict[str, str] = {}
        self.started_at = 0.0
        self.finished_at = 0.0
        self.lock = threading.Lock()
        self.done = threading.Event()

    def _delivered(self, key: str) -> Callable[[Any, Any], None]:
        def report(error: Any, _message: Any) -> None:
            with self.lock:
                if error is None:
                    self.acked[key] = time.monotonic()
                else:
                    self.failed[key] = str(error)
        return report

    def run(self) -> None:
        self.started_at = time.monotonic()
        try:
            for i, (key, value) in enumerate(self.lines):
                due = self.started_at + i / self.rate
                while (wait := due - time.monotonic()) > 0:
                    self.producer.poll(min(wait, 0.05))
                while True:
                    try:
                        self.producer.produce(self.topic, value, key=key.encode(),
                                              on_delivery=self._delivered(key))
                        break
                    except BufferError:
                        self.producer.poll(0.1)
                self.producer.poll(0)
            while self.producer.flush(1.0) > 0:
                pass
        finally:
            self.finished_at = time.monotonic()
            self.done.set()

    def acked_ids(self) -> set[str]:
        with self.lock:
            return set(self.acked)


# --- reading outputs with librdkafka --------------------------------------------------


@dataclass(frozen=True)
class Output:
    role: str  # clean | duplicates | rejected
    partition: int
    offset: int
    value: dict[str, Any]

    @property
    def input_id(self) -> str | None:
        """The input's id: the article's, or the dead letter's payload's."""
        if "error" in self.value:
            try:
                return str(orjson.loads(self.value["payload"])["id"])
            except (orjson.JSONDecodeError, KeyError, TypeError):
                return None
        return str(self.value.get("id"))

    @property
    def is_correction(self) -> bool:
        return bool(self.value.get("correction"))

    @property
    def verdict(self) -> tuple[str, str | None, str | None]:
        if self.role == "rejected" or "error" in self.value:
            return ("rejected", str(self.value["error"]["code"]), None)
        dedup = self.value.get("dedup") or {}
        status = str(dedup.get("status"))
        # A correction travels on `duplicates`; where the article lives is its status.
        role = self.role if not self.is_correction else (
            "clean" if status == "unique" else "duplicates")
        return (role, status, dedup.get("duplicate_of"))


def _consumer(bootstrap: str, isolation: str, group: str | None = None) -> Any:
    """A consumer that assigns partitions itself and never commits: its group (a fresh
    one unless given) only names whose committed offsets `committed` reads."""
    from confluent_kafka import Consumer

    return Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": group or f"outside-{uuid.uuid4().hex[:8]}",
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "isolation.level": isolation,
        "enable.partition.eof": True,
        "client.id": "outside-checker",
        "logger": _CLIENT_LOG,
    })


def _assign_from_start(consumer: Any, topics: Mapping[str, str]) -> set[tuple[str, int]]:
    from confluent_kafka import OFFSET_BEGINNING, TopicPartition

    parts = []
    for topic in topics:
        meta = consumer.list_topics(topic, timeout=30).topics[topic]
        if meta.error is not None:
            raise RuntimeError(f"{topic}: {meta.error}")
        parts += [TopicPartition(topic, p, OFFSET_BEGINNING) for p in meta.partitions]
    consumer.assign(parts)
    return {(p.topic, p.partition) for p in parts}


def _records(consumer: Any, partitions: set[tuple[str, int]], idle: float,
             timeout: float) -> Iterator[Any]:
    """Every record of `partitions` as it comes, until each has reported its end (the
    last stable offset under read_committed) and a second passed with nothing new, or
    nothing came for `idle` seconds."""
    from confluent_kafka import KafkaError

    at_end: set[tuple[str, int]] = set()
    deadline = time.monotonic() + timeout
    last = time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - last < idle:
        message = consumer.poll(0.5)
        if message is None:
            if at_end >= partitions and time.monotonic() - last > 1.0:
                break
            continue
        where = (message.topic(), message.partition())
        if message.error() is not None:
            if message.error().code() == KafkaError._PARTITION_EOF:
                at_end.add(where)
            continue
        at_end.discard(where)
        last = time.monotonic()
        yield message


def read_outputs(bootstrap: str, topics: Mapping[str, str], isolation: str = "read_committed",
                 idle: float = 6.0, timeout: float = 180.0) -> list[Output]:
    """Every record of the output topics (`topics`: name -> role), from the start, until
    each partition reports its end or nothing came for `idle` seconds."""
    consumer = _consumer(bootstrap, isolation)
    try:
        partitions = _assign_from_start(consumer, topics)
        return [Output(topics[m.topic()], m.partition(), m.offset(), orjson.loads(m.value()))
                for m in _records(consumer, partitions, idle, timeout)]
    finally:
        consumer.close()


def trace_held(bootstrap: str, env: Mapping[str, str], held: Iterable[str],
               idle: float = 4.0) -> dict[str, dict[str, list[str]]]:
    """Where each held-back input got to: every record of the raw topic and of the
    engine's internal topics (tagged, bands, answers) that names it, as
    `topic[partition]@offset`, read uncommitted, and the group's committed offset of
    each partition it was on. For the run's notes, not its verdict."""
    from confluent_kafka import TopicPartition

    wanted = {key: b'"' + key.encode() + b'"' for key in held}
    if not wanted:
        return {}
    names = {env[f"NEWSFLOW_TOPICS__{role.upper()}"]: role
             for role in ("raw", "tagged", "bands", "answers")}
    found: dict[str, dict[str, list[str]]] = {key: defaultdict(list) for key in wanted}
    # In the app's group, to read its commits; assigned, not subscribed, so it joins
    # nothing and commits nothing.
    consumer = _consumer(bootstrap, "read_uncommitted", group=env["NEWSFLOW_APP_ID"])
    seen: set[tuple[str, int]] = set()
    try:
        partitions = _assign_from_start(consumer, names)
        for message in _records(consumer, partitions, idle, timeout=180.0):
            value, key = message.value() or b"", message.key() or b""
            for name, quoted in wanted.items():
                if key == quoted[1:-1] or quoted in value:
                    role = names[message.topic()]
                    found[name][role].append(f"{message.partition()}@{message.offset()}")
                    seen.add((message.topic(), message.partition()))
        committed = (consumer.committed([TopicPartition(t, p) for t, p in sorted(seen)],
                                        timeout=30) if seen else [])
    finally:
        consumer.close()
    commits = [f"{names[c.topic]}[{c.partition}]={c.offset}" for c in committed]
    return {name: {**dict(roles), "committed": commits} for name, roles in found.items()}


def _note_held(path: Path, bootstrap: str, env: Mapping[str, str], held: set[str]) -> None:
    try:
        trace: Any = trace_held(bootstrap, env, held)
    except Exception as exc:  # noqa: BLE001 - notes only: the counts stand
        trace = {"trace failed": repr(exc)}
    path.write_bytes(orjson.dumps(trace, option=orjson.OPT_INDENT_2))


@dataclass
class Stall:
    started: float  # seconds since the run began
    seconds: float
    outstanding: int


class OutputWatch(threading.Thread):
    """A read_committed tail of the outputs during the run: which input ids have an
    outcome, and the longest time with none resolved while inputs were outstanding."""

    def __init__(self, bootstrap: str, topics: Mapping[str, str], producer: PacedProducer,
                 t0: float) -> None:
        super().__init__(name="outside-watch", daemon=True)
        self.bootstrap, self.topics, self.producer, self.t0 = bootstrap, topics, producer, t0
        self.seen: set[str] = set()
        self.records = 0
        self.last_progress = time.monotonic()
        self.stalls: list[Stall] = []
        self._stall_start: float | None = None
        self._halt = threading.Event()
        self.lock = threading.Lock()

    def outstanding(self) -> int:
        with self.lock:
            return len(self.producer.acked_ids() - self.seen)

    def current_stall(self) -> float:
        return time.monotonic() - self.last_progress if self.outstanding() else 0.0

    def longest_stall(self) -> float:
        open_stall = self.current_stall()
        return max([s.seconds for s in self.stalls] + [open_stall])

    def _tick(self) -> None:
        now = time.monotonic()
        outstanding = self.outstanding()
        if outstanding == 0:
            self._close_stall(now)
            self.last_progress = now
        elif now - self.last_progress > 5.0 and self._stall_start is None:
            self._stall_start = self.last_progress
            self._stall_outstanding = outstanding

    def _close_stall(self, now: float) -> None:
        if self._stall_start is not None:
            self.stalls.append(Stall(self._stall_start - self.t0, now - self._stall_start,
                                     self._stall_outstanding))
            self._stall_start = None

    def run(self) -> None:
        consumer = _consumer(self.bootstrap, "read_committed")
        try:
            _assign_from_start(consumer, self.topics)
            while not self._halt.is_set():
                messages = consumer.consume(500, 0.2)
                fresh = False
                for message in messages:
                    if message.error() is not None:
                        continue
                    record = Output(self.topics[message.topic()], message.partition(),
                                    message.offset(), orjson.loads(message.value()))
                    with self.lock:
                        self.records += 1
                        key = record.input_id
                        # A correction resolves an id too: after a crash a `redecided`
                        # one can be its only record (see `tally`).
                        if key is not None and key not in self.seen:
                            self.seen.add(key)
                            fresh = True
                if fresh:
                    now = time.monotonic()
                    self._close_stall(now)
                    self.last_progress = now
                self._tick()
        finally:
            consumer.close()

    def stop(self) -> None:
        self._close_stall(time.monotonic())
        self._halt.set()
        self.join(timeout=10)


# --- verdicts -------------------------------------------------------------------------


Verdict = tuple[str, str | None, str | None]


@dataclass
class Tally:
    outcomes: Counter[str] = field(default_factory=Counter)  # per id, non-correction records
    corrections: Counter[str] = field(default_factory=Counter)
    final: dict[str, Verdict] = field(default_factory=dict)
    by_role: Counter[str] = field(default_factory=Counter)
    misrouted: int = 0  # an article on `clean` that is not unique, or the other way round
    disagreeing: set[str] = field(default_factory=set)  # replays that differ, uncorrected
    unattributed: int = 0


def tally(records: Iterable[Output]) -> Tally:
    """Per id: its outcomes, and its final verdict (the last correction, else the first
    outcome). Records must come in log order per partition (as read)."""
    result = Tally()
    first: dict[str, Verdict] = {}
    corrected: dict[str, Verdict] = {}
    ordered = sorted(records, key=lambda r: (r.role, r.partition, r.offset))
    for record in ordered:
        key = record.input_id
        if key is None:
            result.unattributed += 1
            continue
        verdict = record.verdict
        if record.is_correction:
            result.corrections[key] += 1
            corrected[key] = verdict
            continue
        result.outcomes[key] += 1
        result.by_role[record.role] += 1
        if record.role != "rejected" and (record.role == "clean") != (verdict[1] == "unique"):
            result.misrouted += 1
        if key in first and first[key] != verdict:
            result.disagreeing.add(key)
        first.setdefault(key, verdict)
    result.disagreeing -= set(corrected)
    # A worker that died after publishing a verdict but before recording it leaves the
    # article undecided; its successor publishes the new verdict as a `redecided`
    # correction, superseding whatever went out. When what went out was never committed,
    # that correction is the id's only record: its outcome, once.
    for key in set(corrected) - set(first):
        result.outcomes[key] += 1
        role = next(r.role for r in ordered if r.input_id == key and r.is_correction)
        result.by_role[role] += 1
    result.final = {**first, **corrected}
    return result


def batch_outputs(input_path: Path, env: Mapping[str, str], workdir: Path,
                  topics: Mapping[str, str]) -> list[Output]:
    """`newsflow process` on the same input with the same settings, as Output records
    (line number as the offset, so corrections stay after what they correct)."""
    out_path = workdir / "batch.jsonl"
    newsflow(["process", str(input_path), "-o", str(out_path)], env)
    outputs = []
    for number, line in enumerate(out_path.read_bytes().splitlines()):
        row = orjson.loads(line)
        outputs.append(Output(topics[row["topic"]], 0, number, row["value"]))
    return outputs


# --- faults ---------------------------------------------------------------------------


FAULT_KINDS = ("kill", "stop", "broker", "recovery", "rebalance", "disk")


@dataclass
class FaultEvent:
    kind: str
    target: str
    at: float  # seconds since the run began
    during_production: bool
    ready_after: float | None  # seconds from the kill (stop: SIGCONT; broker: back up)
    caught: str = ""  # recovery, rebalance: the state the second kill landed in
    unready: str = ""  # the workers' /readyz states when they were not all ready in time


@dataclass
class FaultPlan:
    kinds: Sequence[str]
    seed: int = 22
    gap: tuple[float, float] = (3.0, 12.0)  # seconds after ready before the next fault
    stop_seconds: float = 12.0  # SIGSTOP: twice the test session timeout (6 s)
    broker_down_seconds: float = 8.0
    disk_full_seconds: float = 15.0  # disk: how long the data dirs' disk stays full
    ready_timeout: float = 120.0


@dataclass
class Crash:
    """A worker that exited without our fault: counted, then restarted (a supervisor's
    job, as Kubernetes or systemd would)."""

    target: str
    at: float  # seconds since the run began
    returncode: int | None
    reason: str  # its last ERROR/CRITICAL log message


def _crash_reason(log_path: Path) -> str:
    """The first `Crashed reason=` in a worker's log that is not a CancelledError (the
    cause, not the agents cancelled after it), else its first ERROR message."""
    errors = []
    for line in log_path.read_text(errors="replace").splitlines():
        try:
            entry = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if isinstance(entry, dict) and entry.get("level") in ("ERROR", "CRITICAL"):
            errors.append(str(entry.get("msg")))
    for message in errors:
        if "Crashed reason=" in message and "CancelledError" not in message:
            return message[:300]
    return errors[0][:300] if errors else "no ERROR line in its log"


class FaultInjector:
    """Runs `plan` against `workers` (and `broker`); restarts what it killed, and, from
    a supervisor thread, any worker that died by itself (recorded in `crashes`)."""

    def __init__(self, plan: FaultPlan, workers: list[GroupWorker], broker: Broker | None,
                 workdir: Path, t0: float, producing: Callable[[], bool]) -> None:
        self.plan, self.workers, self.broker = plan, workers, broker
        self.workdir, self.t0, self.producing = workdir, t0, producing
        self.rng = random.Random(plan.seed)
        self.events: list[FaultEvent] = []
        self.crashes: list[Crash] = []
        self.restarts = 0
        self.lock = threading.Lock()  # held while the injector or supervisor swaps workers
        self._halt = threading.Event()
        self._supervisor = threading.Thread(target=self._supervise, name="outside-supervisor",
                                            daemon=True)

    def _restart(self, index: int, tag: str) -> None:
        self.restarts += 1
        old = self.workers[index]
        self.workers[index] = GroupWorker(
            old.env, self.workdir / f"worker{index}-{tag}{self.restarts}.log").start()

    def _supervise(self) -> None:
        while not self._halt.wait(0.5):
            with self.lock:
                for index, worker in enumerate(self.workers):
                    if worker.process is None or worker.alive():
                        continue
                    self.crashes.append(Crash(f"worker{index}", time.monotonic() - self.t0,
                                              worker.process.returncode,
                                              _crash_reason(worker.log_path)))
                    self._restart(index, "c")

    def start_supervisor(self) -> None:
        self._supervisor.start()

    def stop_supervisor(self) -> None:
        self._halt.set()
        if self._supervisor.is_alive():
            self._supervisor.join(timeout=10)

    def run(self) -> None:
        for kind in self.plan.kinds:
            time.sleep(self.rng.uniform(*self.plan.gap))
            index = self.rng.randrange(len(self.workers))
            during = self.producing()
            started = time.monotonic()
            if kind == "kill":
                with self.lock:
                    self.workers[index].kill_group()
                    self._restart(index, "r")
                since, target = started, f"worker{index}"
            elif kind == "stop":
                self.workers[index].signal_group(signal.SIGSTOP)
                time.sleep(self.plan.stop_seconds)
                self.workers[index].signal_group(signal.SIGCONT)
                since, target = time.monotonic(), f"worker{index}"
            elif kind == "broker":
                assert self.broker is not None, "the broker scenario needs a broker of our own"
                since, target = kill_broker(self.broker, self.plan.broker_down_seconds), "broker"
            elif kind in ("recovery", "rebalance"):
                since, target, caught = self._kill_in_the_middle(kind, index)
            elif kind == "disk":
                since, target = self._fill_the_disk(), "disk"
            else:
                raise ValueError(f"unknown fault {kind!r}; one of {FAULT_KINDS}")
            ready = wait_all_ready(self.workers, since, self.plan.ready_timeout,
                                   give_up_if_dead=False)
            # What held a worker back when it never became ready again (its /readyz state).
            unready = "" if ready is not None else ", ".join(
                str(worker.state()) for worker in self.workers)
            self.events.append(FaultEvent(kind, target, started - self.t0, during, ready,
                                          caught if kind in ("recovery", "rebalance") else "",
                                          unready))

    def _fill_the_disk(self) -> float:
        """Fill the data dirs' disk (a tmpfs of its own, `SmallDisk`) to the last byte
        with a ballast file, keep it full for `disk_full_seconds`, then free it. Returns
        when it was freed."""
        ballast = self.workdir / DISK_DIR / "ballast"
        chunk = b"\0" * (1 << 20)
        with ballast.open("wb", buffering=0) as out:
            for size in (1 << 20, 4096, 1):
                try:
                    while True:
                        out.write(chunk[:size])
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise
        time.sleep(self.plan.disk_full_seconds)
        ballast.unlink()
        return time.monotonic()

    def _kill_in_the_middle(self, kind: str, index: int) -> tuple[float, str, str]:
        """`recovery`: kill a worker, and kill its successor again while it restores its
        Tables. `rebalance` (two workers or more): kill one, and kill another while the
        group rebalances around the first one's successor. Returns when the second kill
        happened, whom it hit, and the state it hit ("" when the moment was missed)."""
        with self.lock:
            self.workers[index].kill_group()
            self._restart(index, "r")
        if kind == "recovery":
            second = index
            caught = wait_state(self.workers[index], {"recovering"}, self.plan.ready_timeout)
        else:
            assert len(self.workers) > 1, "the rebalance scenario needs two workers"
            second = (index + 1) % len(self.workers)
            caught = wait_state(self.workers[second], {"rebalancing", "recovering"},
                                self.plan.ready_timeout, fresh=False)
        with self.lock:
            self.workers[second].kill_group()
            self._restart(second, "r")
        return time.monotonic(), f"worker{second}", caught or ""


# --- one run --------------------------------------------------------------------------


@dataclass
class Report:
    scenario: str
    guarantee: str
    seed: int
    workers: int
    produced: int  # inputs the broker acknowledged
    delivery_failed: int
    records: int  # committed output records read back, corrections included
    corrections: int
    outcomes: dict[str, int]  # outcomes per output topic
    lost: int
    twice: int  # ids with more than one committed outcome
    repeats: int  # outcomes beyond the first, summed over ids
    verdicts_differ: int
    verdicts_differ_held: int  # of those, ids with a copy still held back
    misrouted: int
    disagreeing: int
    longest_stall: float
    stall_bound: float
    held_back: int  # acknowledged inputs without an outcome when the run gave up
    uncommitted: int | None  # output records visible read_uncommitted (only when held back)
    faults: list[FaultEvent]
    seconds: float
    examples: dict[str, list[str]] = field(default_factory=dict)
    stalls: list[Stall] = field(default_factory=list)
    after_restart: AfterRestart | None = None
    crashes: list[Crash] = field(default_factory=list)

    @property
    def ready_after(self) -> list[float | None]:
        return [f.ready_after for f in self.faults]

    @property
    def wedged(self) -> bool:
        return self.longest_stall > self.stall_bound

    @property
    def ok(self) -> bool:
        twice_ok = self.twice == 0 or self.guarantee != "exactly_once"
        return (self.lost == 0 and twice_ok and self.verdicts_differ == 0 and not self.wedged
                and self.misrouted == 0 and self.delivery_failed == 0 and not self.crashes)

    def summary(self) -> str:
        ready = ", ".join("-" if r is None else f"{r:.1f}" for r in self.ready_after)
        return (
            f"[{self.scenario} {self.guarantee} seed={self.seed}] produced {self.produced}, "
            f"records {self.records} ({self.corrections} corrections), outcomes "
            f"{self.outcomes}, lost {self.lost}, twice {self.twice} (repeats {self.repeats}), "
            f"verdicts differ {self.verdicts_differ} ({self.verdicts_differ_held} with a copy "
            f"held back), crashes {[(c.target, round(c.at), c.reason) for c in self.crashes]}, "
            f"misrouted {self.misrouted}, longest stall "
            f"{self.longest_stall:.1f}s (bound {self.stall_bound:.0f}s), held back "
            f"{self.held_back} (read_uncommitted: {self.uncommitted} records), "
            f"faults {[f.kind for f in self.faults]}, ready after [{ready}] s, "
            f"{self.seconds:.0f}s; examples {self.examples}; after a restart of the workers: "
            f"{self.after_restart or '-'}"
        )


@dataclass
class AfterRestart:
    """When a run ends with inputs held back: what fresh workers then delivered."""

    delivered: int  # held-back inputs with a committed outcome after the restart
    still_missing: int
    twice: int  # inputs with two committed outcomes, counted after the restart
    verdicts_differ: int
    seconds: float  # from the restart until the last held-back input came out (or gave up)

    def __str__(self) -> str:
        return (f"{self.delivered} delivered, {self.still_missing} still missing, "
                f"{self.twice} twice, {self.verdicts_differ} verdicts ≠ batch, "
                f"{self.seconds:.0f}s")


@dataclass
class Scenario:
    name: str
    bootstrap: str
    workdir: Path
    plan: FaultPlan
    items: int = 1800
    rate: float = 20.0
    guarantee: str = "exactly_once"
    workers: int = 1
    broker: Broker | None = None
    env: Mapping[str, str] = field(default_factory=dict)  # e.g. NEWSFLOW_DEDUP__MODE
    stall_bound: float = STALL_BOUND_SECONDS
    drain_timeout: float = 600.0
    # A run that ends with inputs held back: SIGKILL and restart the workers once, and
    # count what comes out (held back for good, or until someone restarts the worker?).
    restart_when_held: bool = True
    disk_mb: int = 64  # the `disk` fault: the size of the data dirs' own tmpfs


def _settle(watch: OutputWatch, bound: float, deadline: float) -> None:
    """Until every acknowledged input has an outcome, or no progress for longer than
    the bound (a wedge), then until the outputs are quiet for 3 s (late corrections)."""
    while time.monotonic() < deadline:
        if watch.outstanding() == 0 or watch.current_stall() > bound + 5:
            break
        time.sleep(0.5)
    quiet = watch.records
    time.sleep(3)
    while watch.records != quiet and time.monotonic() < deadline:
        quiet = watch.records
        time.sleep(3)


def _restart_and_recount(scenario: Scenario, workers: list[GroupWorker],
                         producer: PacedProducer, topics: Mapping[str, str],
                         reference: Tally, held: set[str]) -> AfterRestart:
    started = time.monotonic()
    for i, worker in enumerate(workers):
        worker.kill_group()
        workers[i] = GroupWorker(worker.env, scenario.workdir / f"worker{i}-recheck.log").start()
    watch = OutputWatch(scenario.bootstrap, topics, producer, started)
    watch.start()
    try:
        _settle(watch, scenario.stall_bound, started + scenario.drain_timeout)
        done = time.monotonic() - started
    finally:
        watch.stop()
    stream = tally(read_outputs(scenario.bootstrap, topics))
    return AfterRestart(
        delivered=len(held & set(stream.outcomes)),
        still_missing=len(held - set(stream.outcomes)),
        twice=sum(1 for n in stream.outcomes.values() if n > 1),
        verdicts_differ=sum(1 for k, v in stream.final.items()
                            if k in producer.acked and v != reference.final.get(k)),
        seconds=done,
    )


DISK_DIR = "disk"


@contextmanager
def small_disk(directory: Path, megabytes: int | None) -> Iterator[None]:
    """A tmpfs of `megabytes` mounted on `directory` for the run (the `disk` fault fills
    it); nothing without a size. Needs root (mount(8)); says so if it cannot mount."""
    if megabytes is None:
        yield
        return
    directory.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={megabytes}m", "tmpfs",
                           str(directory)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the disk fault needs a tmpfs on {directory} (root, mount): "
                           f"{done.stderr.strip()}")
    try:
        yield
    finally:
        subprocess.run(["umount", "-l", str(directory)], check=False)


def run_scenario(scenario: Scenario) -> Report:
    """Topics, batch reference, workers, producer + faults, drain, read back, compare."""
    disk = scenario.disk_mb if "disk" in scenario.plan.kinds else None
    with small_disk(scenario.workdir / DISK_DIR, disk):
        return _run_scenario(scenario, on_disk=disk is not None)


def _run_scenario(scenario: Scenario, on_disk: bool) -> Report:
    workdir = scenario.workdir
    workdir.mkdir(parents=True, exist_ok=True)
    env = isolated_env(scenario.bootstrap,
                       NEWSFLOW_PROCESSING_GUARANTEE=scenario.guarantee, **scenario.env)
    topics = {env["NEWSFLOW_TOPICS__CLEAN"]: "clean",
              env["NEWSFLOW_TOPICS__DUPLICATES"]: "duplicates",
              env["NEWSFLOW_TOPICS__REJECTED"]: "rejected"}
    records = ag_news_inputs(scenario.items, seed=scenario.plan.seed)
    lines = input_lines(records)
    input_path = workdir / "input.jsonl"
    input_path.write_bytes(b"".join(value + b"\n" for _, value in lines))
    reference = tally(batch_outputs(input_path, env, workdir, topics))

    newsflow(["topics"], env, timeout=120)
    workers = []
    for i in range(scenario.workers):
        worker_env = dict(env) if i == 0 else {**env, "NEWSFLOW_WEB_PORT": str(free_port())}
        # One data dir per worker, kept across its restarts: a rocksdb:// worker then
        # restarts from its own databases, as it would on a node with a disk.
        data = workdir / DISK_DIR if on_disk else workdir
        worker_env["NEWSFLOW_DATA_DIR"] = str(data / f"data{i}")
        workers.append(GroupWorker(worker_env, workdir / f"worker{i}.log").start())
    t0 = time.monotonic()
    watch: OutputWatch | None = None
    producer: PacedProducer | None = None
    injector: FaultInjector | None = None
    try:
        if wait_all_ready(workers, t0, 180) is None:
            raise RuntimeError("workers not ready at start:\n" + workers[0].log())
        t0 = time.monotonic()
        producer = PacedProducer(scenario.bootstrap, env["NEWSFLOW_TOPICS__RAW"], lines,
                                 scenario.rate)
        watch = OutputWatch(scenario.bootstrap, topics, producer, t0)
        watch.start()
        producer.start()
        injector = FaultInjector(scenario.plan, workers, scenario.broker, workdir, t0,
                                 lambda: not producer.done.is_set() if producer else False)
        injector.start_supervisor()
        injector.run()
        producer.done.wait(timeout=scenario.drain_timeout)
        _settle(watch, scenario.stall_bound, time.monotonic() + scenario.drain_timeout)
        held_back = watch.outstanding()
        longest = watch.longest_stall()
        injector.stop_supervisor()
        watch.stop()
        outputs = read_outputs(scenario.bootstrap, topics)
        uncommitted = (len(read_outputs(scenario.bootstrap, topics, "read_uncommitted"))
                       if held_back else None)
        elapsed = time.monotonic() - t0
        # An input whose only record is a correction has an outcome too (as in `lost`).
        held = producer.acked_ids() - {r.input_id for r in outputs}
        if held:
            _note_held(workdir / "held.json", scenario.bootstrap, env, held)
        after = (_restart_and_recount(scenario, workers, producer, topics, reference, held)
                 if held and scenario.restart_when_held else None)
    finally:
        if injector is not None:
            injector.stop_supervisor()
        for worker in workers:
            worker.kill_group()
        if watch is not None and watch.is_alive():
            watch.stop()
    assert producer is not None and watch is not None and injector is not None
    acked = producer.acked_ids()
    stream = tally(outputs)
    lost = sorted(acked - set(stream.outcomes))
    twice = sorted(k for k, n in stream.outcomes.items() if n > 1)
    differ = sorted(k for k in acked if k in stream.final
                    and stream.final[k] != reference.final.get(k))
    # A verdict that differs while a copy of it is still held back may only be waiting
    # for that copy (its correction cannot come before it): counted apart as well.
    lost_set = set(lost)
    copies_of: dict[str, set[str]] = {}
    for key, verdict in reference.final.items():
        if verdict[2] is not None:
            copies_of.setdefault(verdict[2], set()).add(key)

    def waits_on_held(key: str) -> bool:
        related = {stream.final[key][2], reference.final.get(key, ("", None, None))[2]}
        related |= copies_of.get(key, set())
        return bool(related & lost_set)

    differ_held = sum(1 for k in differ if waits_on_held(k))
    examples = {
        "lost": lost[:5],
        "twice": twice[:5],
        "differ": [f"{k}: stream {stream.final[k]} batch {reference.final.get(k)}"
                   for k in differ[:5]],
    }
    return Report(
        scenario=scenario.name, guarantee=scenario.guarantee, seed=scenario.plan.seed,
        workers=scenario.workers, produced=len(acked), delivery_failed=len(producer.failed),
        records=len(outputs), corrections=sum(stream.corrections.values()),
        outcomes=dict(stream.by_role), lost=len(lost), twice=len(twice),
        repeats=sum(n - 1 for n in stream.outcomes.values() if n > 1),
        verdicts_differ=len(differ), verdicts_differ_held=differ_held, misrouted=stream.misrouted,
        disagreeing=len(stream.disagreeing), longest_stall=longest,
        stall_bound=scenario.stall_bound, held_back=held_back, uncommitted=uncommitted,
        faults=injector.events, seconds=elapsed,
        examples={k: v for k, v in examples.items() if v}, stalls=list(watch.stalls),
        after_restart=after, crashes=list(injector.crashes),
    )
