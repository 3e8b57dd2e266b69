"""`sections train|eval` and loading a trained model into the Tagger."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from service.models import CleanedArticle
from service.pipeline import make_tagger
from service.settings import TagConfig
from service.stages.tag import Tagger
from service.stages.tag.section_model import (
    evaluate,
    load_model,
    read_examples,
    read_label_map,
    train,
    wilson,
)

VOCAB = {
    "Sports": "striker goal league coach match fans stadium penalty season club",
    "business": "shares profit revenue investors market bank inflation earnings stock deal",
    "medtop:13000000": "software chip smartphone telescope researchers app data cloud robot",
}


def write_dataset(path: Path, per_class: int = 15, seed: int = 3) -> Path:
    rng = random.Random(seed)
    filler = "the a of and in on with for today after said".split()
    with path.open("w", encoding="utf-8") as handle:
        for label, words in VOCAB.items():
            vocab = words.split()
            for _ in range(per_class):
                body = " ".join(rng.choice(vocab + filler) for _ in range(40))
                title = " ".join(rng.sample(vocab, 3))
                handle.write(json.dumps({"title": title, "text": body, "section": label}) + "\n")
    return path


def test_labels_may_be_codes_names_or_aliases(tmp_path: Path) -> None:
    examples = read_examples(write_dataset(tmp_path / "d.jsonl", per_class=2))
    assert {e.label for e in examples} == {"medtop:15000000", "medtop:04000000",
                                          "medtop:13000000"}


def test_a_label_without_a_section_or_with_a_bad_code_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"text": "x", "section": ""}) + "\n")
    with pytest.raises(ValueError, match="bad.jsonl:1: no section"):
        read_examples(path)
    path.write_text(json.dumps({"text": "x", "section": "medtop:99000000"}) + "\n")
    with pytest.raises(ValueError, match="bad.jsonl:1: unknown IPTC code"):
        read_examples(path)


def test_entities_are_decoded_in_training_text(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    row = {"title": "Women #39;s Open", "text": "S amp;P &lt;b&gt;up&lt;/b&gt;", "section": "sport"}
    path.write_text(json.dumps(row) + "\n")
    (example,) = read_examples(path)
    assert (example.title, example.text) == ("Women's Open", "S&P up")


def write_custom(path: Path, labels: dict[str, str], per_class: int = 15) -> Path:
    """Like write_dataset, under a newsroom's own section names."""
    rows = [json.loads(line) for line in write_dataset(path, per_class).read_text().splitlines()]
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            row["section"] = labels.get(row["section"], row["section"])
            handle.write(json.dumps(row) + "\n")
    return path


def test_own_labels_are_kept_as_names_with_their_mapped_or_nearest_iptc_parent(
    tmp_path: Path,
) -> None:
    data = write_custom(tmp_path / "d.jsonl", {"Sports": "Match day", "business": "Markets"})
    label_map = tmp_path / "map.json"
    label_map.write_text(json.dumps({"Markets": "economy"}))
    out = tmp_path / "m.joblib"
    report = train(data, out, folds=3, label_map=label_map)
    assert "Markets -> medtop:04000000 (economy, map)" in report
    # "Match day" is in no table and not mapped: the lexicon reads its articles as sport.
    assert "Match day -> medtop:15000000 (sport, nearest)" in report
    model = load_model(out)
    assert model.section("coach penalty", "the striker and the fans")[:2] == (
        "medtop:15000000", "Match day")
    tagger = Tagger(TagConfig(), model=model)
    art = CleanedArticle(id="1", title="Bank shares", text="investors market bank earnings stock")
    section = tagger.section(art)
    assert section is not None
    assert (section.code, section.name, section.method) == ("medtop:04000000", "Markets", "text")


def test_a_label_map_target_must_be_iptc(tmp_path: Path) -> None:
    label_map = tmp_path / "map.json"
    label_map.write_text(json.dumps({"Metro": "gardening-ish"}))
    with pytest.raises(ValueError, match="'Metro' maps to 'gardening-ish'"):
        read_label_map(label_map)
    label_map.write_text(json.dumps({"Metro": "society", "Opinion": "politics"}))
    assert read_label_map(label_map) == {"Metro": "medtop:14000000", "Opinion": "medtop:11000000"}


def test_evaluate_reports_accuracy_and_confusion(tmp_path: Path) -> None:
    report = evaluate(write_dataset(tmp_path / "d.jsonl"), folds=3)
    first = report.splitlines()[0]
    assert first.startswith("3-fold accuracy:")
    assert float(first.split()[2]) > 0.9
    assert "sport" in report and "economy" in report and "gold" in report
    assert "95% interval (Wilson" in report and "confidence   items  share  accuracy" in report


def test_wilson_interval() -> None:
    low, high = wilson(90, 100)
    assert round(low, 3) == 0.826 and round(high, 3) == 0.945


def test_train_saves_a_model_the_tagger_uses(tmp_path: Path) -> None:
    out = tmp_path / "model" / "sections.joblib"
    report = train(write_dataset(tmp_path / "d.jsonl"), out, folds=3)
    assert out.exists() and "saved" in report
    model = load_model(out)
    code, confidence = model.predict("coach penalty", "the striker and the fans in the stadium")
    assert code == "medtop:15000000" and 0.5 < confidence <= 1
    # The setting reaches the tagger through the pipeline, which loads the model.
    tagger = make_tagger(TagConfig(section_model=out))
    art = CleanedArticle(id="1", title="Chip news", text="software chip app cloud data robot")
    section = tagger.section(art)
    assert section is not None
    assert (section.code, section.method) == ("medtop:13000000", "text")


def test_load_rejects_other_files(tmp_path: Path) -> None:
    import joblib

    path = tmp_path / "other.joblib"
    joblib.dump({"something": 1}, path)
    with pytest.raises(ValueError, match="not a newsflow section model"):
        load_model(path)


def test_an_archive_without_titles_trains(tmp_path: Path) -> None:
    path = write_dataset(tmp_path / "d.jsonl")
    rows = [dict(json.loads(line), title="") for line in path.read_text().splitlines()]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "m.joblib"
    train(path, out, folds=0)
    assert load_model(out).predict("", "the striker and the fans in the stadium")[0] == (
        "medtop:15000000")


def test_a_huge_body_costs_no_more_than_its_prefix(tmp_path: Path) -> None:
    import time

    out = tmp_path / "m.joblib"
    train(write_dataset(tmp_path / "d.jsonl"), out, folds=0)
    model = load_model(out)
    body = "the striker and the fans in the stadium " * 50_000  # 2 MB
    started = time.process_time()
    assert model.predict("", body)[0] == "medtop:15000000"
    assert time.process_time() - started < 1.0


def test_cli_eval_takes_the_label_map(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from service.cli import main

    data = write_custom(tmp_path / "d.jsonl", {"Sports": "Match day", "business": "Markets"})
    label_map = tmp_path / "map.json"
    label_map.write_text(json.dumps({"Markets": "economy"}))
    result = CliRunner().invoke(
        main, ["sections", "eval", "--data", str(data), "--folds", "3",
               "--label-map", str(label_map)],
    )
    assert result.exit_code == 0, result.output
    assert "3-fold accuracy:" in result.output and "95% interval" in result.output
    assert "Markets" in result.output  # the mapped label is its own class in the table
