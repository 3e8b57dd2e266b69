"""Section taxonomy as data: IPTC Media Topics, hint aliases and URL path segments.

Keys are normalised with `normalise_key` (lower case, accents stripped, punctuation
to single spaces), so "Política", "politica" and "POLITICA" are one entry.
"""

from __future__ import annotations

import re
import unicodedata

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

# The full IPTC labels (cv.iptc.org/newscodes/mediatopic), accepted as hints and labels.
IPTC_LABELS: dict[str, str] = {
    "medtop:01000000": "arts, culture, entertainment and media",
    "medtop:02000000": "crime, law and justice",
    "medtop:03000000": "disaster, accident and emergency incident",
    "medtop:04000000": "economy, business and finance",
    "medtop:05000000": "education",
    "medtop:06000000": "environment",
    "medtop:07000000": "health",
    "medtop:08000000": "human interest",
    "medtop:09000000": "labour",
    "medtop:10000000": "lifestyle and leisure",
    "medtop:11000000": "politics",
    "medtop:12000000": "religion",
    "medtop:13000000": "science and technology",
    "medtop:14000000": "society",
    "medtop:15000000": "sport",
    "medtop:16000000": "conflict, war and peace",
    "medtop:17000000": "weather",
}

# Section names a scraper may send (meta article:section, breadcrumb, its own label).
# Multi-word names are fine; they are matched whole after normalisation.
_HINT_ALIASES: dict[str, tuple[str, ...]] = {
    "medtop:01000000": (
        "arts", "art", "culture", "entertainment", "arts and entertainment", "media",
        "music", "film", "films", "movies", "cinema", "tv", "television", "books",
        "theatre", "theater", "celebrity", "celebrities", "showbiz", "kultur",
        "feuilleton", "unterhaltung", "cultura", "espectaculos", "spettacoli",
        "spettacolo", "cinema e tv", "culture et loisirs", "cultuur", "entretenimento",
        "musica", "musique", "cine", "kunst", "arts and culture", "stage",
    ),
    "medtop:02000000": (
        "crime", "crimes", "justice", "law", "courts", "legal", "police", "kriminalitat",
        "justiz", "polizei", "faits divers", "justice et faits divers", "sucesos",
        "justicia", "cronaca nera", "cronaca", "policia", "justica", "misdaad",
        "crime and justice", "true crime",
    ),
    "medtop:03000000": (
        "disaster", "disasters", "accidents", "emergencies", "katastrophen", "unglucke",
        "catastrophes", "catastrofes", "desastres", "rampen",
    ),
    "medtop:04000000": (
        "business", "economy", "economics", "finance", "money", "markets", "companies",
        "personal finance", "wirtschaft", "finanzen", "borse", "unternehmen", "economie",
        "entreprises", "argent", "economia", "negocios", "dinero", "mercados", "finanza",
        "mercati", "soldi", "dinheiro", "mercado", "financas", "economie en financien",
        "geld", "bedrijven", "business and finance", "real estate", "property",
    ),
    "medtop:05000000": (
        "education", "schools", "universities", "higher education", "bildung", "schule",
        "enseignement", "educacion", "istruzione", "scuola", "educacao", "onderwijs",
    ),
    "medtop:06000000": (
        "environment", "climate", "climate change", "green", "nature", "energy and environment",
        "umwelt", "klima", "environnement", "planete", "medio ambiente", "ambiente",
        "meio ambiente", "milieu", "klimaat",
    ),
    "medtop:07000000": (
        "health", "wellness", "medicine", "gesundheit", "sante", "salud", "salute",
        "saude", "gezondheid", "coronavirus", "covid 19",
    ),
    "medtop:08000000": (
        "human interest", "offbeat", "odd news", "oddly enough", "weird news", "curiosidades",
        "kurioses", "insolite", "curiosita", "bizar",
    ),
    "medtop:09000000": (
        "labour", "labor", "jobs", "careers", "work", "employment", "arbeit", "karriere",
        "emploi", "travail", "empleo", "trabajo", "lavoro", "emprego", "trabalho", "werk",
    ),
    "medtop:10000000": (
        "lifestyle", "life", "living", "travel", "food", "food and drink", "style",
        "fashion", "leisure", "home and garden", "motoring", "cars", "autos", "reise",
        "reisen", "leben", "genuss", "mode", "auto", "voyage", "art de vivre", "cuisine",
        "estilo", "viajes", "gastronomia", "moda", "viaggi", "motori", "estilo de vida",
        "viagem", "turismo", "leefstijl", "reizen", "eten",
    ),
    "medtop:11000000": (
        "politics", "political", "government", "elections", "election", "politik",
        "inland", "politique", "politica", "gobierno", "elecciones", "governo",
        "eleicoes", "politiek", "us politics", "uk politics", "national politics",
    ),
    "medtop:12000000": (
        "religion", "faith", "religion and belief", "kirche", "glaube", "religions",
        "religione", "religiao", "geloof",
    ),
    "medtop:13000000": (
        "technology", "tech", "science", "science and technology", "sci tech", "scitech",
        "innovation", "gadgets", "space", "digital", "internet", "computing", "wissenschaft",
        "technik", "netzwelt", "forschung", "sciences", "technologie", "high tech",
        "ciencia", "tecnologia", "scienza", "tecnologie", "ciencia e tecnologia",
        "wetenschap", "tech and science", "science and tech",
    ),
    "medtop:14000000": (
        "society", "social affairs", "community", "communities", "gesellschaft",
        "panorama", "societe", "sociedad", "societa", "sociedade", "samenleving",
        "immigration", "social issues",
    ),
    "medtop:15000000": (
        "sport", "sports", "football", "soccer", "basketball", "baseball", "tennis",
        "cricket", "rugby", "golf", "hockey", "nfl", "nba", "mlb", "nhl", "formula 1",
        "f1", "motorsport", "fussball", "deportes", "deporte", "futbol", "sportif",
        "calcio", "esportes", "esporte", "futebol", "voetbal", "sporten", "olympics",
        "athletics", "cycling", "boxing",
    ),
    "medtop:16000000": (
        "conflict", "conflicts", "war", "wars", "defence", "defense", "military",
        "terrorism", "war and conflict", "ukraine war", "krieg", "guerre", "guerra",
        "conflitto", "oorlog", "national security",
    ),
    "medtop:17000000": (
        "weather", "forecast", "wetter", "meteo", "meteo france", "tiempo", "clima e meteo",
        "previsao do tempo", "tempo", "weer",
    ),
}

# URL path segments, per language, for the common section directories of news sites.
# Kept apart from hints: a path segment is terser ("biz", "wirtschaft", "sci-tech").
_URL_SEGMENTS: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "medtop:01000000": (
            "arts", "culture", "entertainment", "entertainment-arts", "arts-and-culture",
            "music", "film", "movies", "tv", "television", "books", "celebrity",
            "showbiz", "media", "theater", "theatre", "music-news", "tv-and-radio",
            "stage", "tvshowbiz",
        ),
        "medtop:02000000": ("crime", "courts", "law", "justice", "police", "crime-and-courts"),
        "medtop:03000000": ("disasters", "accidents"),
        "medtop:04000000": (
            "business", "economy", "finance", "money", "markets", "investing", "biz",
            "companies", "personal-finance", "economy-business", "real-estate", "banking",
        ),
        "medtop:05000000": ("education", "schools", "higher-education"),
        "medtop:06000000": ("environment", "climate", "climate-change", "green"),
        "medtop:07000000": ("health", "wellness", "medicine", "science-and-health"),
        "medtop:08000000": ("offbeat", "odd-news", "oddly-enough", "weird"),
        "medtop:09000000": ("jobs", "careers", "labor", "labour", "work"),
        "medtop:10000000": (
            "lifestyle", "life", "living", "travel", "food", "style", "fashion", "autos",
            "cars", "motoring", "home-garden", "life-style", "advice",
        ),
        "medtop:11000000": (
            "politics", "elections", "election", "government", "us-politics", "uk-politics",
            "politics-news", "white-house", "congress",
        ),
        "medtop:12000000": ("religion", "faith"),
        "medtop:13000000": (
            "technology", "tech", "science", "sci-tech", "scitech", "science-technology",
            "gadgets", "space", "innovation", "computing", "internet", "tech-news",
        ),
        "medtop:14000000": ("society", "immigration", "social-affairs"),
        "medtop:15000000": (
            "sport", "sports", "football", "soccer", "nfl", "nba", "mlb", "nhl", "tennis",
            "cricket", "rugby", "rugby-union", "golf", "hockey", "boxing", "formula1",
            "f1", "motorsport", "olympics", "college-football", "cycling", "athletics",
        ),
        "medtop:16000000": ("war", "conflict", "military", "defense", "defence", "terrorism"),
        "medtop:17000000": ("weather",),
    },
    "de": {
        "medtop:01000000": ("kultur", "feuilleton", "unterhaltung", "kino", "musik", "medien"),
        "medtop:02000000": ("kriminalitaet", "justiz", "polizei", "blaulicht"),
        "medtop:04000000": ("wirtschaft", "finanzen", "geld", "boerse", "unternehmen"),
        "medtop:05000000": ("bildung", "schule"),
        "medtop:06000000": ("umwelt", "klima"),
        "medtop:07000000": ("gesundheit",),
        "medtop:09000000": ("karriere", "arbeit", "job"),
        "medtop:10000000": ("reise", "reisen", "leben", "stil", "genuss", "mobilitaet"),
        "medtop:11000000": ("politik", "inland", "bundestag"),
        "medtop:13000000": ("wissenschaft", "wissen", "technik", "digital", "netzwelt"),
        "medtop:14000000": ("gesellschaft", "panorama"),
        "medtop:15000000": ("sport", "fussball", "bundesliga", "formel1"),
        "medtop:17000000": ("wetter",),
    },
    "fr": {
        "medtop:01000000": ("culture", "cinema", "musique", "livres", "medias", "spectacles"),
        "medtop:02000000": ("faits-divers", "justice", "police-justice"),
        "medtop:04000000": ("economie", "eco", "entreprises", "argent", "finance", "bourse"),
        "medtop:05000000": ("education", "enseignement"),
        "medtop:06000000": ("environnement", "planete", "climat"),
        "medtop:07000000": ("sante",),
        "medtop:09000000": ("emploi", "travail"),
        "medtop:10000000": ("voyage", "art-de-vivre", "mode", "cuisine", "auto"),
        "medtop:11000000": ("politique", "elections"),
        "medtop:12000000": ("religion",),
        "medtop:13000000": ("sciences", "science", "high-tech", "technologie", "tech", "pixels"),
        "medtop:14000000": ("societe",),
        "medtop:15000000": ("sport", "sports", "football", "rugby", "tennis", "cyclisme"),
        "medtop:16000000": ("guerre", "defense"),
        "medtop:17000000": ("meteo",),
    },
    "es": {
        "medtop:01000000": ("cultura", "espectaculos", "cine", "musica", "television", "gente"),
        "medtop:02000000": ("sucesos", "justicia", "policiales"),
        "medtop:04000000": ("economia", "negocios", "dinero", "mercados", "finanzas"),
        "medtop:05000000": ("educacion",),
        "medtop:06000000": ("medio-ambiente", "clima"),
        "medtop:07000000": ("salud",),
        "medtop:09000000": ("empleo", "trabajo"),
        "medtop:10000000": ("estilo", "viajes", "gastronomia", "moda", "motor"),
        "medtop:11000000": ("politica", "elecciones", "gobierno"),
        "medtop:12000000": ("religion",),
        "medtop:13000000": ("ciencia", "tecnologia", "ciencia-y-tecnologia"),
        "medtop:14000000": ("sociedad",),
        "medtop:15000000": ("deportes", "deporte", "futbol", "baloncesto", "tenis"),
        "medtop:16000000": ("guerra", "defensa"),
        "medtop:17000000": ("tiempo", "meteorologia"),
    },
    "it": {
        "medtop:01000000": ("cultura", "spettacoli", "spettacolo", "cinema", "musica", "tv"),
        "medtop:02000000": ("cronaca-nera", "giustizia"),
        "medtop:04000000": ("economia", "finanza", "mercati", "soldi", "affari"),
        "medtop:05000000": ("scuola", "istruzione", "universita"),
        "medtop:06000000": ("ambiente", "clima"),
        "medtop:07000000": ("salute", "sanita", "benessere"),
        "medtop:09000000": ("lavoro",),
        "medtop:10000000": ("viaggi", "moda", "cucina", "motori", "stili-di-vita"),
        "medtop:11000000": ("politica", "elezioni"),
        "medtop:12000000": ("religione",),
        "medtop:13000000": ("scienza", "tecnologia", "tech", "scienze"),
        "medtop:14000000": ("societa",),
        "medtop:15000000": ("sport", "calcio", "tennis", "motogp", "formula-1"),
        "medtop:16000000": ("guerra", "difesa"),
        "medtop:17000000": ("meteo",),
    },
    "pt": {
        "medtop:01000000": ("cultura", "entretenimento", "cinema", "musica", "televisao"),
        "medtop:02000000": ("policia", "justica", "seguranca"),
        "medtop:04000000": ("economia", "negocios", "dinheiro", "mercado", "financas"),
        "medtop:05000000": ("educacao",),
        "medtop:06000000": ("meio-ambiente", "ambiente"),
        "medtop:07000000": ("saude", "bem-estar"),
        "medtop:09000000": ("emprego", "trabalho", "carreira"),
        "medtop:10000000": ("estilo", "viagem", "turismo", "moda", "gastronomia"),
        "medtop:11000000": ("politica", "eleicoes"),
        "medtop:12000000": ("religiao",),
        "medtop:13000000": ("ciencia", "tecnologia", "ciencia-e-saude", "tec"),
        "medtop:14000000": ("sociedade",),
        "medtop:15000000": ("esporte", "esportes", "desporto", "futebol"),
        "medtop:16000000": ("guerra", "defesa"),
        "medtop:17000000": ("tempo", "clima-e-tempo"),
    },
    "nl": {
        "medtop:01000000": ("cultuur", "cultuur-media", "entertainment", "film", "muziek"),
        "medtop:02000000": ("misdaad", "justitie"),
        "medtop:04000000": ("economie", "financieel", "geld", "bedrijven"),
        "medtop:05000000": ("onderwijs",),
        "medtop:06000000": ("milieu", "klimaat"),
        "medtop:07000000": ("gezondheid",),
        "medtop:09000000": ("werk",),
        "medtop:10000000": ("reizen", "lifestyle", "eten-en-drinken", "wonen"),
        "medtop:11000000": ("politiek", "verkiezingen"),
        "medtop:12000000": ("religie",),
        "medtop:13000000": ("wetenschap", "tech", "techniek"),
        "medtop:14000000": ("samenleving",),
        "medtop:15000000": ("sport", "voetbal", "wielrennen"),
        "medtop:16000000": ("oorlog", "defensie"),
        "medtop:17000000": ("weer",),
    },
}

# Segments that look like sections but say nothing about the topic; never matched.
GENERIC_SEGMENTS: frozenset[str] = frozenset({
    "news", "world", "nation", "national", "local", "us", "uk", "international", "article",
    "articles", "story", "stories", "content", "latest", "breaking", "opinion", "blogs",
    "blog", "homenews", "nachrichten", "actualite", "noticias", "notizie", "nieuws",
})


def normalise_key(value: str) -> str:
    """Lower case, accents stripped, runs of non-alphanumerics to one space."""
    decomposed = unicodedata.normalize("NFKD", value.casefold())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    stripped = stripped.replace("ß", "ss").replace("&", " and ")
    return re.sub(r"[^0-9a-z]+", " ", stripped).strip()


def _build(table: dict[str, tuple[str, ...]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for code, aliases in table.items():
        for alias in aliases:
            out.setdefault(normalise_key(alias), code)
    return out


SECTION_ALIASES: dict[str, str] = _build(_HINT_ALIASES)
for _code, _name in IPTC_TOPICS.items():
    SECTION_ALIASES.setdefault(normalise_key(_name), _code)
    SECTION_ALIASES.setdefault(normalise_key(IPTC_LABELS[_code]), _code)

URL_SEGMENTS: dict[str, str] = {}
for _table in _URL_SEGMENTS.values():
    for _key, _code in _build(_table).items():
        URL_SEGMENTS.setdefault(_key, _code)


def section_code(label: str, aliases: dict[str, str] | None = None) -> str | None:
    """An IPTC code from a code ("medtop:15000000"), a topic name or an alias."""
    label = label.strip()
    if label in IPTC_TOPICS:
        return label
    if label.startswith("medtop:"):
        return None
    return (aliases if aliases is not None else SECTION_ALIASES).get(normalise_key(label))
