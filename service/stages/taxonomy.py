"""Section taxonomy as data: the IPTC Media Topics table and section aliases."""

from __future__ import annotations

IPTC_TOPICS: dict[str, str] = {
    "medtop:01000000": "arts",
    "medtop:02000000": "crime",
    "medtop:03000000": "disaster",
    "medtop:04000000": "economy",
    "medtop:05000000": "education",
    "medtop:06000000": "environment",
    "medtop:07000000": "health",
    "medtop:08000000": "human_interest",
    "medtop:09000000": "labour",
    "medtop:10000000": "lifestyle",
    "medtop:11000000": "politics",
    "medtop:12000000": "religion",
    "medtop:13000000": "science_technology",
    "medtop:14000000": "society",
    "medtop:15000000": "sport",
    "medtop:16000000": "conflict",
    "medtop:17000000": "weather",
}

_ALIASES: dict[str, tuple[str, ...]] = {
    "medtop:01000000": ("arts", "culture", "entertainment", "kultur", "cultura"),
    "medtop:02000000": ("crime", "justice"),
    "medtop:04000000": ("business", "economy", "finance", "money", "wirtschaft", "economia"),
    "medtop:07000000": ("health", "gesundheit", "salud"),
    "medtop:11000000": ("politics", "politik", "politica", "politique"),
    "medtop:13000000": ("technology", "tech", "science", "wissenschaft"),
    "medtop:15000000": ("sport", "sports", "deportes", "football", "soccer"),
    "medtop:16000000": ("world", "conflict", "war"),
    "medtop:17000000": ("weather", "wetter"),
}

SECTION_ALIASES: dict[str, str] = {
    alias: code for code, aliases in _ALIASES.items() for alias in aliases
}
