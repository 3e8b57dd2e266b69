"""Tag stage: language from the cleaned body, section from hint, URL, then text.

Language comes from py3langid (its model ships in the wheel, so nothing downloads).
Only the first `LANGUAGE_SAMPLE_CHARS` characters are scored: accuracy is already at
its ceiling there and the cost of py3langid grows with the byte length.

Section signals, strongest first: the scraper's hint through an alias table, a
section directory in the URL path, then a text model (the hand-written lexicon in
`lexicon.py`, or a trained model the caller passes in: the pipeline loads the one
`cfg.section_model` names, so this module never imports scikit-learn or the trainer).
Below `cfg.min_section_confidence` the article gets no section rather than a guess.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Literal, Protocol
from urllib.parse import urlsplit

from py3langid.langid import MODEL_DIR, MODEL_FILE

from service.models import CleanedArticle, Language, Section, TaggedArticle
from service.settings import TagConfig
from service.stages.tag.langid import FastIdentifier
from service.stages.tag.lexicon import LEXICONS
from service.stages.tag.taxonomy import (
    GENERIC_SEGMENTS,
    IPTC_TOPICS,
    SECTION_ALIASES,
    URL_SEGMENTS,
    normalise_key,
)

__all__ = [
    "LANGUAGE_SAMPLE_CHARS",
    "ISO_639_1",
    "SectionTextModel",
    "Tagger",
    "normalise_language_code",
]

LANGUAGE_SAMPLE_CHARS = 600
SECTION_TEXT_CHARS = 4000  # body prefix the lexicon reads; keeps long pages under budget

ISO_639_1: frozenset[str] = frozenset(
    "aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs "
    "cu cv cy da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha "
    "he hi ho hr ht hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn "
    "ko kr ks ku kv kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb "
    "nd ne ng nl nn no nr nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd "
    "se sg si sk sl sm sn so sq sr ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw "
    "ty ug uk ur uz ve vi vo wa wo xh yi yo za zh zu".split()
)
# py3langid labels outside ISO 639-1 that have an obvious 639-1 macrolanguage.
_LABEL_TO_ISO: dict[str, str] = {
    "ary": "ar", "arz": "ar", "uzs": "uz", "wuu": "zh", "yue": "zh", "gug": "gn",
    "fuv": "ff", "kik": "ki", "sdh": "ku", "hbo": "he", "grc": "el",
}
# Retired or regional spellings a scraper or an operator may use.
_CODE_ALIASES: dict[str, str] = {"iw": "he", "in": "id", "ji": "yi", "jw": "jv", "mo": "ro"}
# How an allow-list code maps onto py3langid's labels (it says "no" for Bokmål).
_ALLOW_TO_LABEL: dict[str, str] = {"nb": "no"}
_UND = Language(code="und", confidence=0.0)
# The fields a TaggedArticle takes over from the CleanedArticle it tags.
_BODY_FIELDS: tuple[str, ...] = tuple(
    name for name in TaggedArticle.model_fields if name in CleanedArticle.model_fields
)


def normalise_language_code(value: str | None) -> str | None:
    """ISO 639-1 from a hint such as "en", "EN-us", "pt_BR" or "iw"; None if not one."""
    if not value:
        return None
    primary = re.split(r"[-_]", value.strip().lower(), maxsplit=1)[0]
    primary = _CODE_ALIASES.get(primary, primary)
    return primary if primary in ISO_639_1 else None


@lru_cache(maxsize=1)
def _load_identifier() -> FastIdentifier:
    """The model takes ~0.8 s to load; share one copy per process. py3langid's own
    model, scored the same way but faster (langid.py)."""
    return FastIdentifier.from_modelpath(MODEL_DIR / MODEL_FILE, norm_probs=True)


def load_language_model() -> None:
    """Load the language model into this process now. A forkserver that does so before
    it forks gives every child a copy-on-write share of it instead of a load of its own
    (`newsflow process --jobs`)."""
    _load_identifier()


def _language_sample(text: str) -> str:
    if len(text) <= LANGUAGE_SAMPLE_CHARS:
        return text
    cut = text.rfind(" ", LANGUAGE_SAMPLE_CHARS // 2, LANGUAGE_SAMPLE_CHARS)
    return text[: cut if cut > 0 else LANGUAGE_SAMPLE_CHARS]


_TOKEN = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*|\d+[a-z]*", re.UNICODE)


def _stem(token: str) -> str:
    """Fold a plural "-s" so "goals"/"goal" share one lexicon entry; cheap on purpose."""
    if len(token) > 4 and token.endswith("s") and not token.endswith(("ss", "us", "is")):
        return token[:-1]
    return token


# Distinct tokens remembered per process before the stem memo starts again.
_MAX_STEMS = 200_000


class _StemMemo(dict[str, str]):
    """token -> `_stem(token)`, computed on first sight: `map` over its `__getitem__`
    stems a page in C, and the same token always comes back as the same string object."""

    def __missing__(self, token: str) -> str:
        if len(self) >= _MAX_STEMS:
            self.clear()
        stem = self[token] = _stem(token)
        return stem


_STEMS = _StemMemo()


def _tokens(text: str) -> list[str]:
    return list(map(_STEMS.__getitem__, _TOKEN.findall(text.casefold().replace("’", "'"))))


_TopicWeights = tuple[tuple[int, float], ...]


class _Lexicon:
    """A compiled term table: unigram and bigram keys to (topic index, weight) pairs."""

    def __init__(self, tables: Iterable[dict[str, dict[str, float]]]) -> None:
        self.topics: tuple[str, ...] = tuple(IPTC_TOPICS)
        index = {code: i for i, code in enumerate(self.topics)}
        merged: dict[str, dict[int, float]] = {}
        for table in tables:
            for code, terms in table.items():
                for term, weight in terms.items():
                    key = " ".join(_tokens(term))
                    slot = merged.setdefault(key, {})
                    slot[index[code]] = max(slot.get(index[code], 0.0), weight)
        self.terms: dict[str, _TopicWeights] = {k: tuple(v.items()) for k, v in merged.items()}
        # The first words of the two-token keys: a pair is looked up only after one of
        # them (a token never holds a space, so no other key can match a pair).
        self.bigram_heads: frozenset[str] = frozenset(
            k.split(" ")[0] for k in self.terms if k.count(" ") == 1
        )

    def scores(self, tokens: list[str]) -> list[float]:
        counts: dict[str, int] = {}
        get = counts.get
        terms, heads = self.terms, self.bigram_heads
        previous: str | None = None
        for token in tokens:
            if token in terms:
                counts[token] = get(token, 0) + 1
            if previous in heads:
                pair = f"{previous} {token}"
                if pair in terms:
                    counts[pair] = get(pair, 0) + 1
            previous = token
        scores = [0.0] * len(self.topics)
        for term, count in counts.items():
            damp = 1.0 + math.log(count)
            for topic, weight in terms[term]:
                scores[topic] += weight * damp
        return scores


# Smoothing mass in the confidence denominator: thin evidence gives low confidence.
_LEXICON_PRIOR = 6.0


@lru_cache(maxsize=8)
def _lexicon(language: str) -> _Lexicon:
    if language in LEXICONS:
        return _Lexicon([LEXICONS[language]])
    return _Lexicon(LEXICONS.values())


class SectionTextModel(Protocol):
    """A trained text model (`section_model.SectionModel`): code, name and confidence."""

    def section(self, title: str, text: str) -> tuple[str, str, float]: ...


class Tagger:
    """Holds the loaded models; build once per process and reuse.

    `model` is the trained section model, when there is one; without it the text signal
    is the built-in lexicon."""

    def __init__(self, cfg: TagConfig, model: SectionTextModel | None = None) -> None:
        self.cfg = cfg
        self._langid = _load_identifier()
        self._allowed: tuple[str, ...] = ()
        if cfg.languages:
            labels = set(self._langid.labels)
            allowed = [_ALLOW_TO_LABEL.get(c.lower(), c.lower()) for c in cfg.languages]
            unknown = sorted(set(allowed) - labels)
            if unknown:
                raise ValueError(f"languages not known to py3langid: {', '.join(unknown)}")
            self._allowed = tuple(dict.fromkeys(allowed))
        self._aliases = SECTION_ALIASES
        self._url_segments = URL_SEGMENTS
        self._model = model

    def tag(self, article: CleanedArticle) -> TaggedArticle:
        language = self.language(article.text, hint=article.language_hint)
        if article.language_hint:
            language = language.model_copy(update={"hint": article.language_hint})
        # Every field comes from a validated CleanedArticle (the body fields, which are
        # the same in both models) or is a Language/Section built here, so the result is
        # assembled without validating it again: what dumping the cleaned article and
        # validating the dump rebuilt, but for the list of tags, copied, and the nested
        # (frozen) cleaning report, shared.
        fields = {name: getattr(article, name) for name in _BODY_FIELDS}
        fields["tags"] = list(article.tags)
        return TaggedArticle.model_construct(
            **fields,
            language=language,
            section=self.section(article, language=language.code),
        )

    # -- language ---------------------------------------------------------------------

    def language(self, text: str, hint: str | None = None) -> Language:
        """Detected language; the hint fills in only when detection is unsure."""
        hinted = normalise_language_code(hint)
        if hinted and self._allowed and _ALLOW_TO_LABEL.get(hinted, hinted) not in self._allowed:
            hinted = None
        if len(text.strip()) < self.cfg.min_language_chars:
            return Language(code=hinted, confidence=0.0) if hinted else _UND
        ranked = self._rank(_language_sample(text))
        code, confidence = ranked[0]
        if code != "und" and confidence >= self.cfg.min_language_confidence:
            return Language(code=code, confidence=round(confidence, 4))
        if hinted:
            hint_label = _ALLOW_TO_LABEL.get(hinted, hinted)
            score = next((p for c, p in ranked if c == hint_label), 0.0)
            return Language(code=hinted, confidence=round(score, 4))
        return Language(code="und", confidence=round(confidence, 4))

    def _rank(self, sample: str) -> list[tuple[str, float]]:
        """(ISO 639-1 or "und", probability), best first, restricted to the allow-list."""
        langid = self._langid
        if self._allowed:
            ranked = [(c, p) for c, p in langid.rank(sample) if c in self._allowed]
            total = sum(p for _, p in ranked) or 1.0
            return [(c, p / total) for c, p in ranked]
        label, prob = langid.classify(sample)
        if label in ISO_639_1:
            return [(label, float(prob))]
        folded: dict[str, float] = {}
        for code, p in langid.rank(sample):
            iso = code if code in ISO_639_1 else _LABEL_TO_ISO.get(code, "und")
            folded[iso] = folded.get(iso, 0.0) + float(p)
        return sorted(folded.items(), key=lambda item: item[1], reverse=True)

    # -- section ----------------------------------------------------------------------

    def section(self, article: CleanedArticle, language: str | None = None) -> Section | None:
        """Hint, then URL, then text; None when no signal clears the threshold."""
        found = self.section_from_hint(article.section_hint)
        if found is None:
            found = self.section_from_url(article.url)
        if found is None:
            found = self.section_from_text(article.title or "", article.text, language)
        if found is None or found.confidence < self.cfg.min_section_confidence:
            return None
        return found

    def section_from_hint(self, hint: str | None) -> Section | None:
        """Exact alias match on the whole hint, then on breadcrumb parts, deepest first."""
        if not hint:
            return None
        parts = [hint, *reversed(re.split(r"\s*[>/|»›]\s*", hint))]
        for part in parts:
            if part.strip() in IPTC_TOPICS:
                return _section(part.strip(), 1.0, "hint")
            code = self._aliases.get(normalise_key(part))
            if code:
                return _section(code, 1.0, "hint")
        return None

    def section_from_url(self, url: str | None) -> Section | None:
        """A known section directory in the path (or a `sport.` style subdomain)."""
        if not url:
            return None
        try:
            parts = urlsplit(url if "//" in url else f"//{url}")
        except ValueError:
            return None
        host = (parts.hostname or "").split(".")
        segments = [s for s in parts.path.split("/") if s]
        if segments and not parts.path.endswith("/"):
            last = segments.pop()  # the slug: "sport" counts, "best-sport-tips" does not
            bare = re.sub(r"-\d+$", "", last.rsplit(".", 1)[0])  # bbc-style "business-1234"
            if bare and "-" not in bare:
                segments.append(bare)
        # Sections nest ("/science/environment/", "/business/jobs/"): the deepest known
        # directory among the first few is the most specific one.
        found: str | None = None
        for segment in segments[:4]:
            key = normalise_key(segment)
            if key not in GENERIC_SEGMENTS:
                found = self._url_segments.get(key, found)
        if found:
            return _section(found, 0.9, "url")
        if len(host) > 2 and host[0] not in GENERIC_SEGMENTS:
            code = self._url_segments.get(normalise_key(host[0]))
            if code:
                return _section(code, 0.85, "url")
        return None

    def section_from_text(
        self, title: str, text: str, language: str | None = None
    ) -> Section | None:
        """The trained model if one is configured, else the weighted lexicon."""
        if self._model is not None:
            # A newsroom's own label is the name; its IPTC parent is the code.
            code, name, confidence = self._model.section(title, text)
            return _section(code, confidence, "text", name=name)
        lexicon = _lexicon(language or "und")
        tokens = _tokens(title)
        scores = lexicon.scores(tokens + tokens + _tokens(text[:SECTION_TEXT_CHARS]))
        best = max(range(len(scores)), key=scores.__getitem__)
        if scores[best] <= 0:
            return None
        confidence = scores[best] / (sum(scores) + _LEXICON_PRIOR)
        return _section(lexicon.topics[best], confidence, "text")


def _section(
    code: str, confidence: float, method: Literal["hint", "url", "text"], name: str | None = None
) -> Section:
    return Section(
        code=code,
        name=name or IPTC_TOPICS[code],
        confidence=round(min(max(confidence, 0.0), 1.0), 4),
        method=method,
    )
