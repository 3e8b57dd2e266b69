"""Clean stage: raw bytes to a `CleanedArticle`, or a `Rejection` saying why not.

`decode` validates the input; `clean` extracts the body and metadata and removes the page
chrome. The modules under it, lowest first: `patterns` (data only), `metadata`, `html`
(main-content extraction), `text` (the line cleaner), `boilerplate` (per-source learned
chrome), and `stage` (the `clean` function that runs them in order).
"""

from service.stages.clean.boilerplate import BoilerplateMemory, source_key
from service.stages.clean.decode import decode
from service.stages.clean.stage import Deadline, article_id, canonical_url, clean

__all__ = [
    "BoilerplateMemory",
    "Deadline",
    "article_id",
    "canonical_url",
    "clean",
    "decode",
    "source_key",
]
