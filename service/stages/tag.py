"""Tag stage: language from the cleaned body, section from hint, URL, then text."""

from __future__ import annotations

from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

from service.models import CleanedArticle, Language, Section, TaggedArticle
from service.settings import TagConfig
from service.stages.taxonomy import IPTC_TOPICS, SECTION_ALIASES


class Tagger:
    """Holds the loaded models; build once per process and reuse."""

    def __init__(self, cfg: TagConfig) -> None:
        self.cfg = cfg
        self._langid = LanguageIdentifier.from_modelpath(MODEL_DIR / MODEL_FILE, norm_probs=True)
        if cfg.languages:
            self._langid.set_languages(list(cfg.languages))

    def tag(self, article: CleanedArticle) -> TaggedArticle:
        fields = article.model_dump(exclude={"language_hint", "section_hint"})
        return TaggedArticle(
            **fields,
            language=self.language(article.text),
            section=self.section(article),
        )

    def language(self, text: str) -> Language:
        if len(text) < self.cfg.min_language_chars:
            return Language(code="und", confidence=0.0)
        code, confidence = self._langid.classify(text)
        if confidence < self.cfg.min_language_confidence:
            return Language(code="und", confidence=round(float(confidence), 4))
        return Language(code=code, confidence=round(float(confidence), 4))

    def section(self, article: CleanedArticle) -> Section | None:
        if article.section_hint:
            code = SECTION_ALIASES.get(article.section_hint.strip().lower())
            if code:
                return Section(code=code, name=IPTC_TOPICS[code], confidence=1.0, method="hint")
        if article.url:
            for segment in article.url.lower().split("/")[3:]:
                code = SECTION_ALIASES.get(segment)
                if code:
                    return Section(code=code, name=IPTC_TOPICS[code], confidence=0.9, method="url")
        return None

