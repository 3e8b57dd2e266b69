"""`sections train|eval` and loading a trained model into the Tagger."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from service.models import CleanedArticle
from service.section_model import evaluate, load_model, read_examples, train
from service.settings import TagConfig
from service.stages.tag import Tagger

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
    assert {e.code for e in examples} == {"medtop:15000000", "medtop:04000000",
                                         "medtop:13000000"}


def test_unknown_label_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"text": "x", "section": "gardening-ish"}) + "\n")
    with pytest.raises(ValueError, match="bad.jsonl:1"):
        read_examples(path)


def test_evaluate_reports_accuracy_and_confusion(tmp_path: Path) -> None:
    report = evaluate(write_dataset(tmp_path / "d.jsonl"), folds=3)
    first = report.splitlines()[0]
    assert first.startswith("3-fold accuracy:")
    assert float(first.split()[2]) > 0.9
    assert "sport" in report and "economy" in report and "gold" in report


def test_train_saves_a_model_the_tagger_uses(tmp_path: Path) -> None:
    out = tmp_path / "model" / "sections.joblib"
    report = train(write_dataset(tmp_path / "d.jsonl"), out, folds=3)
    assert out.exists() and "saved" in report
    model = load_model(out)
    code, confidence = model.predict("coach penalty", "the striker and the fans in the stadium")
    assert code == "medtop:15000000" and 0.5 < confidence <= 1
    tagger = Tagger(TagConfig(section_model=out))
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
