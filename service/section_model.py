"""Trained section model: `newsflow sections train|eval`, and the loader the Tagger uses.

Input is JSONL, one `{"text", "title", "section"}` object per line; `section` may be an
IPTC code ("medtop:15000000"), a topic name ("sport") or any alias ("Sports").
The model is TF-IDF (word 1-2 grams) into a linear SVM, calibrated so its
confidence can be compared with `min_section_confidence` like the lexicon's.
Saved with joblib (shipped with scikit-learn). Only load model files you built:
unpickling runs code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from service.stages.taxonomy import IPTC_TOPICS, section_code

__all__ = ["SectionModel", "evaluate", "load_model", "read_examples", "train"]

FORMAT_VERSION = 1


@dataclass(frozen=True)
class Example:
    title: str
    text: str
    code: str


def read_examples(path: Path) -> list[Example]:
    """Labelled lines; an unknown label is an error, not a silently dropped line."""
    examples: list[Example] = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            row = json.loads(line)
            label = str(row.get("section") or "")
            code = section_code(label)
            if code is None:
                raise ValueError(f"{path}:{number}: unknown section {label!r}")
            examples.append(Example(str(row.get("title") or ""), str(row.get("text") or ""), code))
    if not examples:
        raise ValueError(f"{path}: no labelled lines")
    return examples


def _document(title: str, text: str) -> str:
    # The title is repeated: it is the densest topical signal in an article.
    return f"{title}\n{title}\n{text}"


def _pipeline(n_examples: int, n_classes: int) -> Any:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import LinearSVC

    per_class = max(1, n_examples // max(1, n_classes))
    return make_pipeline(
        TfidfVectorizer(
            sublinear_tf=True, ngram_range=(1, 2), min_df=2 if n_examples > 200 else 1,
            max_df=0.9, strip_accents="unicode", max_features=200_000,
        ),
        CalibratedClassifierCV(LinearSVC(C=0.5), cv=min(3, per_class), method="sigmoid"),
    )


class SectionModel:
    """A fitted pipeline plus what it needs to answer `(code, confidence)`."""

    def __init__(self, pipeline: Any) -> None:
        self.pipeline = pipeline
        self.classes: list[str] = [str(c) for c in pipeline.classes_]

    def predict(self, title: str, text: str) -> tuple[str, float]:
        probs = self.pipeline.predict_proba([_document(title, text)])[0]
        best = int(probs.argmax())
        return self.classes[best], float(probs[best])


def load_model(path: Path) -> SectionModel:
    import joblib

    payload = joblib.load(path)
    if not isinstance(payload, dict) or payload.get("format") != FORMAT_VERSION:
        raise ValueError(f"{path}: not a newsflow section model (format {FORMAT_VERSION})")
    model = SectionModel(payload["pipeline"])
    unknown = [c for c in model.classes if c not in IPTC_TOPICS]
    if unknown:
        raise ValueError(f"{path}: labels outside the IPTC table: {unknown}")
    return model


def _fit(examples: list[Example]) -> Any:
    classes = sorted({e.code for e in examples})
    if len(classes) < 2:
        raise ValueError("training needs at least two sections")
    pipeline = _pipeline(len(examples), len(classes))
    pipeline.fit([_document(e.title, e.text) for e in examples], [e.code for e in examples])
    return pipeline


def train(data: Path, out: Path, folds: int = 5) -> str:
    """Fit on all of `data`, save to `out`, and report the k-fold estimate first."""
    import joblib
    import sklearn

    examples = read_examples(data)
    report = evaluate(data, folds=folds) if folds >= 2 else ""
    pipeline = _fit(examples)
    out.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(
        {"format": FORMAT_VERSION, "pipeline": pipeline, "sklearn": sklearn.__version__,
         "trained_on": data.name, "examples": len(examples)},
        out,
    )
    return f"{report}\nsaved {out} ({len(examples)} examples)\n"


def evaluate(data: Path, folds: int = 5) -> str:
    """Stratified k-fold accuracy and the summed confusion matrix, as printable text."""
    from sklearn.model_selection import StratifiedKFold

    examples = read_examples(data)
    labels = sorted({e.code for e in examples})
    smallest = min(sum(e.code == c for e in examples) for c in labels)
    k = max(2, min(folds, smallest))
    splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=0)
    docs = [_document(e.title, e.text) for e in examples]
    gold = [e.code for e in examples]
    accuracies: list[float] = []
    confusion = {(g, p): 0 for g in labels for p in labels}
    for train_idx, test_idx in splitter.split(docs, gold):
        pipeline = _fit([examples[i] for i in train_idx])
        predicted = pipeline.predict([docs[i] for i in test_idx])
        hits = 0
        for i, p in zip(test_idx, predicted, strict=True):
            confusion[(gold[i], str(p))] += 1
            hits += gold[i] == p
        accuracies.append(hits / len(test_idx))
    mean = sum(accuracies) / len(accuracies)
    lines = [
        f"{k}-fold accuracy: {mean:.4f} (folds: {', '.join(f'{a:.3f}' for a in accuracies)})",
        f"examples: {len(examples)}, sections: {len(labels)}",
        "",
        confusion_table(labels, confusion),
    ]
    return "\n".join(lines) + "\n"


def confusion_table(labels: list[str], confusion: dict[tuple[str, str], int]) -> str:
    """Rows are the gold section, columns the predicted one, by topic name."""
    names = [IPTC_TOPICS.get(code, code)[:10] for code in labels]
    width = max(len(n) for n in names) + 1
    head = "gold \\ pred".ljust(width + 2) + "".join(n.rjust(width) for n in names)
    rows = [head]
    for code, name in zip(labels, names, strict=True):
        cells = "".join(str(confusion.get((code, p), 0)).rjust(width) for p in labels)
        rows.append(name.ljust(width + 2) + cells)
    return "\n".join(rows)
