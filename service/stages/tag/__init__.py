"""Tag stage: language and section for a `CleanedArticle`.

`stage` holds the `Tagger`; `taxonomy` (the IPTC table, aliases and URL segments) and
`lexicon` (weighted terms per topic) are data. `section_model` trains, evaluates and
loads the optional scikit-learn section model; the pipeline loads it and hands it to the
`Tagger`, which never imports it.
"""

from service.stages.tag.section_model import SectionModel, load_model
from service.stages.tag.stage import (
    ISO_639_1,
    LANGUAGE_SAMPLE_CHARS,
    SectionTextModel,
    Tagger,
    load_language_model,
    normalise_language_code,
)

__all__ = [
    "ISO_639_1",
    "LANGUAGE_SAMPLE_CHARS",
    "SectionModel",
    "SectionTextModel",
    "Tagger",
    "load_language_model",
    "load_model",
    "normalise_language_code",
]
