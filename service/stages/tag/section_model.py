"""Trained section model: `newsflow sections train|eval`, and the loader the Tagger uses.

Input is JSONL, one `{"text", "title", "section"}` object per line. `section` may be:

- an IPTC code ("medtop:15000000"), a topic name ("sport") or any alias ("Sports"): the
  model learns that topic;
- any other label, a newsroom's own section ("Metro", "Opinion"): the model learns the
  label itself, and an article it picks gets `section.name` = the label and
  `section.code` = its IPTC parent. The parent comes from a label map
  (`--label-map map.json`, `{"Metro": "society", "Markets": "economy"}`; a label listed
  there is kept as a name even when it is also an alias), or else it is the IPTC topic
  the built-in lexicon gives most of that label's training articles (reported by train).

Entities are decoded on the way in (`#39;`, `&lt;b&gt;`), as the clean stage does, so
the model learns from the text it will see. The model (`SectionClassifier`) adds the
scores of a TF-IDF linear SVM (word, character and title n-grams) and of an NBSVM (binary
word 1-2 grams), with a softmax temperature fitted out of fold, so its confidence can be
compared with `min_section_confidence` like the lexicon's. Saved with joblib (shipped
with scikit-learn). Only load model files you built: unpickling runs code.
"""

from __future__ import annotations

import json
import math
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from service.stages.entities import unescape_text
from service.stages.tag.char_ngrams import CharNgrams
from service.stages.tag.taxonomy import IPTC_TOPICS, section_code

__all__ = [
    "Label",
    "SectionModel",
    "evaluate",
    "load_model",
    "read_examples",
    "read_label_map",
    "resolve_labels",
    "train",
]

FORMAT_VERSION = 3  # 2 added "labels" (a newsroom's own labels); 3 the hashed character block
READABLE_FORMATS = (1, 2, 3)
# Confidence bands of the reliability table (lower edges; the last band ends at 1).
BANDS = (0.0, 0.2, 0.4, 0.6, 0.8, 0.9, 0.95)
Z95 = 1.959964
NB_WEIGHTS = (0.0, 0.25, 0.5, 1.0)  # the NBSVM's share, chosen out of fold
CHAR_BITS = 20  # hashed character n-gram buckets: 2**20, about 3x the distinct grams of AG
MODEL_TEXT_CHARS = 20_000  # body prefix the model reads: whole articles, bounded cost


@dataclass(frozen=True)
class Example:
    title: str
    text: str
    label: str  # what the model learns: an IPTC code, or the newsroom's own label


@dataclass(frozen=True)
class Label:
    """What a model class means on the wire: `section.code` and `section.name`."""

    code: str
    name: str
    how: str  # "iptc", "map" (from the label map) or "nearest" (by the lexicon)


def read_label_map(path: Path) -> dict[str, str]:
    """`{"Metro": "society", ...}`: a newsroom label to an IPTC code, name or alias."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: a label map is a JSON object of label -> IPTC topic")
    mapping: dict[str, str] = {}
    for label, target in raw.items():
        code = section_code(str(target)) if isinstance(target, str) else None
        if code is None:
            raise ValueError(f"{path}: {label!r} maps to {target!r}, which is not an IPTC topic")
        mapping[str(label).strip()] = code
    return mapping


def read_examples(path: Path, label_map: dict[str, str] | None = None) -> list[Example]:
    """Labelled lines; a line without a section is an error, not silently dropped."""
    examples: list[Example] = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            row = json.loads(line)
            label = str(row.get("section") or "").strip()
            if not label:
                raise ValueError(f"{path}:{number}: no section")
            if label.startswith("medtop:") and label not in IPTC_TOPICS:
                raise ValueError(f"{path}:{number}: unknown IPTC code {label!r}")
            if not (label_map and label in label_map):
                label = section_code(label) or label
            title = unescape_text(str(row.get("title") or ""))
            examples.append(Example(title, unescape_text(str(row.get("text") or "")), label))
    if not examples:
        raise ValueError(f"{path}: no labelled lines")
    return examples


def resolve_labels(
    examples: list[Example], label_map: dict[str, str] | None = None
) -> dict[str, Label]:
    """Each class's IPTC code and name; a label neither IPTC nor mapped gets the topic
    the built-in lexicon gives most of its examples."""
    labels: dict[str, Label] = {}
    unmapped: dict[str, list[Example]] = {}
    for example in examples:
        label = example.label
        if label in IPTC_TOPICS:
            labels[label] = Label(label, IPTC_TOPICS[label], "iptc")
        elif label_map and label in label_map:
            labels[label] = Label(label_map[label], label, "map")
        else:
            unmapped.setdefault(label, []).append(example)
    if unmapped:
        from service.settings import TagConfig
        from service.stages.tag.stage import Tagger

        tagger = Tagger(TagConfig())
        for label, members in unmapped.items():
            votes = Counter(
                found.code
                for e in members
                if (found := tagger.section_from_text(e.title, e.text)) is not None
            )
            if not votes:
                raise ValueError(
                    f"section {label!r}: no IPTC parent found; give one with --label-map"
                )
            labels[label] = Label(votes.most_common(1)[0][0], label, "nearest")
    return labels


def _documents(items: list[tuple[str, str]]) -> Any:
    """Two columns: title + body for the word and character blocks, the title alone for
    its own block (the densest topical signal in an article). The body is cut at
    `MODEL_TEXT_CHARS`, in training as in tagging: the cost of an article is bounded."""
    import numpy as np

    return np.array(
        [(f"{title}\n{text[:MODEL_TEXT_CHARS]}", title) for title, text in items], dtype=object
    )


def _nb_ratios(counts: Any, gold: Any, classes: list[str], alpha: float = 0.5) -> Any:
    """Per class, the log-count ratio of each feature (NBSVM, Wang and Manning 2012)."""
    import numpy as np

    ratios = []
    for label in classes:
        inside = alpha + np.asarray(counts[gold == label].sum(axis=0)).ravel()
        outside = alpha + np.asarray(counts[gold != label].sum(axis=0)).ravel()
        ratios.append(np.log((inside / inside.sum()) / (outside / outside.sum())))
    return np.vstack(ratios)


class SectionClassifier:
    """Two linear models whose scores are added, then a softmax with a fitted temperature.

    - TF-IDF word 1-2 grams (title + body), character 2-5 grams within words (hashed:
      `char_ngrams.py`), and title word 1-2 grams, into a multi-class linear SVM;
    - binary word 1-2 grams scaled by their naive-Bayes log-count ratio (smoothing 0.5),
      one linear SVM per class (NBSVM).

    Each model's scores are divided by their spread on the training set, so neither
    dominates. The NBSVM's weight (0 to 1) and the softmax temperature are fitted on
    out-of-fold scores (3-fold, seeded): the confidence is an honest estimate and can be
    thresholded, and a small archive where the NBSVM does not help does not use it."""

    def __init__(self, n_examples: int) -> None:
        self.min_df = 2 if n_examples > 200 else 1
        self.classes_: list[str] = []
        self.temperature = 1.0
        self.nb_weight = 1.0

    def _vectorizers(self) -> None:
        from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

        self.words = TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2),
                                     strip_accents="unicode", max_df=0.9, max_features=300_000)
        self.chars: Any = CharNgrams(2, 5, bits=CHAR_BITS, min_df=self.min_df)
        self.title: Any = TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2),
                                     strip_accents="unicode", max_features=100_000)
        self.binary = CountVectorizer(ngram_range=(1, 2), strip_accents="unicode", binary=True,
                                      max_features=300_000)

    def _features(self, docs: Any) -> tuple[Any, Any]:
        from scipy import sparse

        bodies, titles = list(docs[:, 0]), list(docs[:, 1])
        # The word block and the binary block share one analysis of each body.
        analyze = self.words.build_analyzer()
        terms = [analyze(doc) for doc in bodies]
        if isinstance(self.chars, CharNgrams):
            chars = self.chars.transform(bodies)
        else:  # a model saved before the hashed character block (format 2)
            chars = _vectorize(self.chars, bodies)
        blocks = [_vectorize(self.words, bodies, terms), chars]
        if self.title is not None:
            blocks.append(_vectorize(self.title, titles))
        tfidf = sparse.hstack(blocks, format="csr", dtype="float32")
        # float32 like the weights: a float64 row would upcast (copy) them on every call.
        return tfidf, _vectorize(self.binary, bodies, terms).astype("float32")

    @staticmethod
    def _fit_linear(tfidf: Any, binary: Any, gold: Any, classes: list[str]) -> tuple[Any, ...]:
        import numpy as np
        from sklearn.svm import LinearSVC

        svm = LinearSVC(C=0.5).fit(tfidf, gold)
        ratios = _nb_ratios(binary, gold, classes)
        nb_w, nb_b = [], []
        for k, label in enumerate(classes):
            one = LinearSVC(C=0.1).fit(binary.multiply(ratios[k]).tocsr(), gold == label)
            nb_w.append(one.coef_.ravel() * ratios[k])  # fold the ratio into the weights
            nb_b.append(float(one.intercept_[0]))
        if len(classes) == 2:  # sklearn gives one column for two classes
            svm_w = np.vstack([-svm.coef_[0], svm.coef_[0]])
            svm_b = np.array([-svm.intercept_[0], svm.intercept_[0]])
        else:
            svm_w, svm_b = svm.coef_, svm.intercept_
        # Stored (features x classes), contiguous: a sparse row times a transposed view
        # would copy the whole matrix on every call.
        f32 = np.float32
        return (np.ascontiguousarray(np.asarray(svm_w, dtype=f32).T), np.asarray(svm_b, dtype=f32),
                np.ascontiguousarray(np.vstack(nb_w).astype(f32).T), np.array(nb_b, dtype=f32))

    @staticmethod
    def _scores(tfidf: Any, binary: Any, weights: tuple[Any, ...], spread: Any) -> Any:
        """Each model's scores over its training spread: (SVM, NBSVM)."""
        svm_w, svm_b, nb_w, nb_b = weights
        return (tfidf @ svm_w + svm_b) / spread[0], (binary @ nb_w + nb_b) / spread[1]

    @staticmethod
    def _spread(tfidf: Any, binary: Any, weights: tuple[Any, ...]) -> Any:
        import numpy as np

        svm_w, svm_b, nb_w, nb_b = weights
        return np.array([float(np.std(tfidf @ svm_w + svm_b)) or 1.0,
                         float(np.std(binary @ nb_w + nb_b)) or 1.0])

    def fit(self, docs: Any, labels: list[str]) -> SectionClassifier:
        import numpy as np
        from sklearn.model_selection import StratifiedKFold

        gold = np.array(labels)
        self.classes_ = sorted(set(labels))
        self._vectorizers()
        self.words.fit(docs[:, 0])
        self.chars.fit(list(docs[:, 0]))
        try:
            self.title.fit(docs[:, 1])
        except ValueError:  # no titles in the archive: that block is left out
            self.title = None
        self.binary.fit(docs[:, 0])
        tfidf, binary = self._features(docs)
        smallest = min(int((gold == c).sum()) for c in self.classes_)
        if smallest >= 3:  # out-of-fold scores: the NBSVM's weight and the temperature
            held: list[tuple[Any, Any]] = []
            truth: list[Any] = []
            splitter = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)
            for tr, te in splitter.split(gold, gold):
                part = self._fit_linear(tfidf[tr], binary[tr], gold[tr], self.classes_)
                spread = self._spread(tfidf[tr], binary[tr], part)
                held.append(self._scores(tfidf[te], binary[te], part, spread))
                truth.append(np.searchsorted(self.classes_, gold[te]))
            svm_held = np.vstack([np.asarray(a) for a, _ in held])
            nb_held = np.vstack([np.asarray(b) for _, b in held])
            self.nb_weight, self.temperature = _fit_mix(svm_held, nb_held, np.concatenate(truth))
        self.weights = self._fit_linear(tfidf, binary, gold, self.classes_)
        self.spread = self._spread(tfidf, binary, self.weights)
        return self

    def predict_proba(self, docs: Any) -> Any:
        import numpy as np

        tfidf, binary = self._features(docs)
        svm_scores, nb_scores = self._scores(tfidf, binary, self.weights, self.spread)
        scores = np.asarray(svm_scores) + self.nb_weight * np.asarray(nb_scores)
        return _softmax(scores / self.temperature)


def _vectorize(vectorizer: Any, docs: list[str], terms: list[list[str]] | None = None) -> Any:
    """What a fitted Count/TfidfVectorizer's `transform` gives (binary or sublinear tf,
    idf, l2 rows), without its per-call validation: about 4 ms a call, most of the cost
    of tagging one article. `terms`: each doc already analysed (by the same analyser)."""
    import numpy as np
    from scipy import sparse

    if terms is None:
        analyze = vectorizer.build_analyzer()
        terms = [analyze(doc) for doc in docs]
    vocabulary = vectorizer.vocabulary_
    # One flat pass of dict look-ups, then numpy: duplicates summed by the CSR build.
    get = vocabulary.get
    found = [get(term, -1) for doc_terms in terms for term in doc_terms]
    lengths = np.fromiter((len(t) for t in terms), dtype=np.int64, count=len(terms))
    rows = np.repeat(np.arange(len(terms), dtype=np.int64), lengths)
    cols = np.asarray(found, dtype=np.int64)
    known = cols >= 0
    rows, cols = rows[known], cols[known]
    matrix = sparse.csr_matrix(
        (np.ones(len(cols), dtype=np.float64), (rows, cols)), shape=(len(docs), len(vocabulary))
    )
    matrix.sum_duplicates()
    if vectorizer.binary:
        matrix.data[:] = 1.0
    if hasattr(vectorizer, "idf_"):
        if vectorizer.sublinear_tf:
            matrix.data = np.log(matrix.data) + 1.0
        matrix.data *= vectorizer.idf_[matrix.indices]
    if hasattr(vectorizer, "idf_") and vectorizer.norm == "l2":
        norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
        norms[norms == 0] = 1.0
        matrix = sparse.csr_matrix(sparse.diags(1.0 / norms) @ matrix)
    return matrix


def _softmax(scores: Any) -> Any:
    import numpy as np

    shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def _fit_mix(svm_scores: Any, nb_scores: Any, truth: Any) -> tuple[float, float]:
    """The NBSVM's weight (most right out of fold, then least log-loss) and the
    temperature for it. On a small archive of long articles the NBSVM is weak (0.68 on
    102 real pages, where the SVM has 0.86) and gets weight 0; on AG News it earns 1."""
    import numpy as np

    best: tuple[float, float, float, float] | None = None
    for weight in NB_WEIGHTS:
        scores = svm_scores + weight * nb_scores
        temperature = _fit_temperature(scores, truth)
        probs = _softmax(scores / temperature)
        right = float((probs.argmax(axis=1) == truth).mean())
        loss = -float(np.log(probs[np.arange(len(truth)), truth] + 1e-12).mean())
        if best is None or (right, -loss) > (best[0], -best[1]):
            best = (right, loss, weight, temperature)
    assert best is not None
    return best[2], best[3]


def _fit_temperature(scores: Any, truth: Any) -> float:
    """The softmax temperature with the least log-loss on held-out scores (grid search)."""
    import numpy as np

    rows = np.arange(len(truth))
    best, best_loss = 1.0, float("inf")
    for temperature in np.exp(np.linspace(np.log(0.05), np.log(20.0), 121)):
        loss = -float(np.log(_softmax(scores / temperature)[rows, truth] + 1e-12).mean())
        if loss < best_loss:
            best, best_loss = float(temperature), loss
    return best


def _pipeline(n_examples: int, n_classes: int) -> Any:
    return SectionClassifier(n_examples)


class SectionModel:
    """A fitted pipeline plus what it needs to answer `(code, name, confidence)`."""

    def __init__(self, pipeline: Any, labels: dict[str, Label] | None = None) -> None:
        self.pipeline = pipeline
        self.classes: list[str] = [str(c) for c in pipeline.classes_]
        # Format 1 (a scikit-learn Pipeline over one string): every class is an IPTC code.
        self.legacy = labels is None
        if labels is None:
            labels = {c: Label(c, IPTC_TOPICS.get(c, c), "iptc") for c in self.classes}
        self.labels = labels

    def _proba(self, items: list[tuple[str, str]]) -> Any:
        if self.legacy:
            return self.pipeline.predict_proba([f"{t}\n{t}\n{x}" for t, x in items])
        return self.pipeline.predict_proba(_documents(items))

    def section(self, title: str, text: str) -> tuple[str, str, float]:
        """IPTC code, section name (the newsroom's label when it has one), confidence."""
        probs = self._proba([(title, text)])[0]
        best = int(probs.argmax())
        label = self.labels[self.classes[best]]
        return label.code, label.name, float(probs[best])

    def predict(self, title: str, text: str) -> tuple[str, float]:
        code, _, confidence = self.section(title, text)
        return code, confidence

    def predict_many(self, items: list[tuple[str, str]]) -> list[tuple[str, float]]:
        """Class label and confidence for many (title, text) pairs, in one call."""
        probs = self._proba(items)
        best = probs.argmax(axis=1)
        return [(self.classes[b], float(p[b])) for b, p in zip(best, probs, strict=True)]


def load_model(path: Path) -> SectionModel:
    import joblib

    payload = joblib.load(path)
    if not isinstance(payload, dict) or payload.get("format") not in READABLE_FORMATS:
        raise ValueError(f"{path}: not a newsflow section model (format {FORMAT_VERSION})")
    labels = None
    if payload["format"] >= 2:
        labels = {c: Label(*v) for c, v in payload["labels"].items()}
    model = SectionModel(payload["pipeline"], labels)
    unknown = [c for c in model.classes if c not in model.labels]
    unknown += [lb.code for lb in model.labels.values() if lb.code not in IPTC_TOPICS]
    if unknown:
        raise ValueError(f"{path}: labels outside the IPTC table: {unknown}")
    return model


def _fit(examples: list[Example]) -> Any:
    classes = sorted({e.label for e in examples})
    if len(classes) < 2:
        raise ValueError("training needs at least two sections")
    pipeline = _pipeline(len(examples), len(classes))
    pipeline.fit(_documents([(e.title, e.text) for e in examples]), [e.label for e in examples])
    return pipeline


def train(data: Path, out: Path, folds: int = 5, label_map: Path | None = None) -> str:
    """Fit on all of `data`, save to `out`, and report the k-fold estimate first."""
    import joblib
    import sklearn

    mapping = read_label_map(label_map) if label_map else None
    examples = read_examples(data, mapping)
    labels = resolve_labels(examples, mapping)
    report = evaluate(data, folds=folds, label_map=label_map) if folds >= 2 else ""
    started = time.process_time()
    pipeline = _fit(examples)
    seconds = time.process_time() - started
    out.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(
        {"format": FORMAT_VERSION, "pipeline": pipeline, "sklearn": sklearn.__version__,
         "labels": {c: [lb.code, lb.name, lb.how] for c, lb in labels.items()},
         "trained_on": data.name, "examples": len(examples)},
        out,
        compress=3,
    )
    mapped = [
        f"  {c} -> {lb.code} ({IPTC_TOPICS[lb.code]}, {lb.how})"
        for c, lb in sorted(labels.items()) if lb.how != "iptc"
    ]
    lines = [report, *(["labels outside the IPTC table:", *mapped] if mapped else [])]
    lines.append(
        f"saved {out} ({len(examples)} examples, {out.stat().st_size / 1e6:.1f} MB, "
        f"fit {seconds:.0f} s CPU)"
    )
    return "\n".join(lines) + "\n"


def wilson(hits: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a proportion (95 % by default)."""
    if n == 0:
        return 0.0, 0.0
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def reliability_table(scored: list[tuple[float, bool]]) -> str:
    """Accuracy per confidence band: how far a threshold on confidence can be trusted."""
    rows = ["confidence   items  share  accuracy", "-----------  -----  -----  --------"]
    edges = [*BANDS, 1.0000001]
    for low, high in zip(edges, edges[1:], strict=False):
        inside = [ok for c, ok in scored if low <= c < high]
        if not inside:
            continue
        top = min(high, 1.0)
        rows.append(
            f"{low:.2f}-{top:.2f}  {len(inside):5d}  {len(inside) / len(scored):5.1%}"
            f"  {sum(inside) / len(inside):8.3f}"
        )
    return "\n".join(rows)


def evaluate(data: Path, folds: int = 5, label_map: Path | None = None) -> str:
    """Stratified k-fold (seeded) accuracy with its 95 % interval, the summed confusion
    matrix and the reliability table, as printable text."""
    from sklearn.model_selection import StratifiedKFold

    examples = read_examples(data, read_label_map(label_map) if label_map else None)
    labels = sorted({e.label for e in examples})
    smallest = min(sum(e.label == c for e in examples) for c in labels)
    k = max(2, min(folds, smallest))
    splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=0)
    gold = [e.label for e in examples]
    accuracies: list[float] = []
    scored: list[tuple[float, bool]] = []
    confusion = {(g, p): 0 for g in labels for p in labels}
    for train_idx, test_idx in splitter.split(gold, gold):
        model = SectionModel(_fit([examples[i] for i in train_idx]), {})
        predicted = model.predict_many([(examples[i].title, examples[i].text) for i in test_idx])
        hits = 0
        for i, (p, confidence) in zip(test_idx, predicted, strict=True):
            confusion[(gold[i], p)] += 1
            hits += gold[i] == p
            scored.append((confidence, gold[i] == p))
        accuracies.append(hits / len(test_idx))
    mean = sum(accuracies) / len(accuracies)
    total = sum(ok for _, ok in scored)
    low, high = wilson(total, len(scored))
    lines = [
        f"{k}-fold accuracy: {mean:.4f} (folds: {', '.join(f'{a:.3f}' for a in accuracies)})",
        f"95% interval (Wilson, all {len(scored)} held-out predictions): {low:.4f}-{high:.4f}",
        f"examples: {len(examples)}, sections: {len(labels)}",
        "",
        confusion_table(labels, confusion),
        "",
        reliability_table(scored),
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
