"""Cleaning heuristics as data: boilerplate lines, dateline regexes. No logic lives here.

Every pattern matches a *whole normalised line* unless its name says otherwise. Phrases
are deliberately specific ("sign up to our newsletter", not "sign up") so a body sentence
that merely mentions cookies or donations is never taken for chrome.
"""

from __future__ import annotations

import re

# Characters that end a sentence, possibly followed by a closing quote or bracket.
TERMINAL_RE = re.compile(r"[.!?…:;。！？][\"'”’»)\]」』]*$|[\"”’»」』]$")

# Lines made only of interface words ("Listen Live", "Get short URL", "Share | Tweet").
UI_PHRASES: frozenset[str] = frozenset(
    {
        "listen live", "get short url", "short url", "share", "share this", "share this article",
        "share on facebook", "share on twitter", "share on whatsapp", "tweet", "email", "e-mail",
        "print", "comments", "comment", "show comments", "hide comments", "add comment",
        "discussion", "community standards", "read more", "read full article", "more",
        "advertisement", "sponsored", "sponsored content", "skip to content",
        "skip to main content", "menu", "search", "close", "log in", "login", "sign in",
        "register", "subscribe", "sign up", "home", "top", "back to top", "next", "previous",
        "next article", "previous article", "related", "related articles", "related stories",
        "related news", "more stories", "most read", "most popular", "trending", "latest",
        "latest news", "you may also like", "recommended", "recommended for you", "see also",
        "also read", "watch", "video", "photo", "gallery", "facebook", "twitter", "whatsapp",
        "linkedin", "telegram", "reddit", "pinterest", "copy link", "link copied", "follow",
        "follow us", "tags", "topics", "loading", "loading...", "play", "pause", "mute",
        "toggle navigation", "open menu", "accept", "accept all", "reject all", "manage cookies",
        "cookie settings", "ok", "got it", "x", "...", "continue reading", "view comments",
        "leave a comment", "reply", "report", "newsletter", "newsletters", "donate",
    }
)
# UI lines that open a list of other stories: the body does not continue past them.
SECTION_HEADERS: frozenset[str] = frozenset(
    {
        "more stories", "related", "related articles", "related stories", "related news",
        "read more", "you may also like", "most read", "most popular", "recommended",
        "recommended for you", "see also", "latest news", "trending", "more", "also read",
    }
)
# Headers of a list of other stories beyond SECTION_HEADERS, matched at the start of a
# short line: "More From the Daily Post", "Related links:", "Around the web".
LIST_HEADER_RE = re.compile(
    r"^More(?: (?i:from|on|in|at|of|by|about))?(?: (?i:the))?(?: [A-Z0-9][\w'’&.-]*){1,5}:?$"
    r"|^(?i:related (?:links|content|coverage|topics|reading|posts|videos)"
    r"|top (?:stories|news|headlines)|more (?:news|headlines|articles|videos)"
    r"|editor'?s'? (?:picks|choice)|editors'? (?:picks|choice)|don'?t miss"
    r"|you (?:may|might) (?:also )?(?:like|enjoy|be interested in)|read (?:next|also)"
    r"|what to read next|up next|further reading|more to explore|(?:from )?around the web"
    r"|(?:promoted|sponsored|popular|recommended|trending) (?:stories|content|links|posts)"
    r"|most (?:viewed|shared|commented|watched))\s*:?$"
)
# A photo credit line ("Sakib Ali/Hindustan Times/Getty Images", "Photo: AP"), searched
# in a short line; and a credit closing a caption ("... in 1348 (Image: GETTY)").
CREDIT_RE = re.compile(
    r"\b(?:getty images|getty|shutterstock|alamy|ap photo|afp photo|reuters|epa|"
    r"(?:photo|photograph|picture|image)s? (?:by|credit|courtesy)|courtesy of)\b"
    r"|^(?:photo|image|picture|credit)s?:\s*\S",
    re.IGNORECASE,
)
INLINE_CREDIT_RE = re.compile(
    r"\((?:photo|image|picture|credit|pic)s?:\s*[^()]{1,60}\)$", re.IGNORECASE
)
# Lines that open or close a comment section ("12 comments", "Leave a Reply", "Comments
# are closed."): removed, and the body does not continue past them. Matched at the start.
COMMENT_MARKER_RE = re.compile(
    r"^\[? ?\d+ (?:comments?|responses?|replies)(?: ?\])?$"
    r"|^(?:leave a (?:reply|comment)|post a comment|add a comment|comments are closed"
    r"|join the (?:discussion|conversation)|(?:top rated|recent|latest|reader|user) comments"
    r"|(?:read|view|show) all comments)\b",
    re.IGNORECASE,
)
# A comment's header ("Jane on May 3, 2018 at 4:47 pm said:", "6 thoughts on “Title”"):
# what follows is the comment thread, not the article.
COMMENT_HEADER_RE = re.compile(
    r"^[^.!?]{1,60}\d{1,2}:\d{2}\s*(?:[ap]\.?m\.?)?\s*(?:said|says|wrote)\s*:$"
    r"|^\d+ (?:thoughts|responses|comments) (?:on|to) [“\"‘']",
    re.IGNORECASE,
)
# Separators between UI words on one line ("Share | Tweet • Email").
UI_SEPARATOR_RE = re.compile(r"\s*[|•·/]\s*")
# Words glued by flattening: "Community standardsDiscussion" splits before "Discussion".
GLUE_SPLIT_RE = re.compile(r"(?<=[a-z.)])(?=[A-Z][a-z])")

# A story-line label with an item counter: "Battle Against Daesh in Syria (180)".
STORYLINE_RE = re.compile(r"^[A-Z0-9][^.!?]{2,100}?\s\(\d{1,6}\)$")

_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_WEEKDAY = r"(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?"
# Tokens a timestamp line is made of; a line that is nothing but these is a timestamp.
TIMESTAMP_TOKEN_RE = re.compile(
    rf"(?:\d{{1,4}}[./-]\d{{1,2}}[./-]\d{{1,4}}|\d{{1,2}}:\d{{2}}(?::\d{{2}})?"
    rf"|\d{{1,4}}(?:st|nd|rd|th)?|{_MONTH}|{_WEEKDAY}"
    r"|[ap]\.?m\.?|gmt|utc|bst|cet|cest|est|edt|pst|pdt|msk|ist|[+-]\d{2}:?\d{2}|z"
    r"|updated|published|posted|last|modified|on|at|ago|minutes?|hours?|days?|mins?|hrs?"
    r"|just|now|yesterday|today|[,|:·•()-])",
    re.IGNORECASE,
)
TIMESTAMP_HAS_DIGIT_RE = re.compile(r"\d|ago|yesterday|today|just now", re.IGNORECASE)

# Sentence-like promos, cookie notices, donation asks, disclaimers and footers. Each
# reason maps to patterns searched anywhere in a line (the line must also be short enough,
# see clean.text.PROMO_MAX_WORDS, so an article *about* cookies survives).
PROMO_PATTERNS: dict[str, tuple[re.Pattern[str], ...]] = {
    "newsletter": tuple(
        re.compile(p, re.IGNORECASE)
        for p in (
            r"\bsign(?:ing)? up (?:to|for) (?:our|the) .{0,40}\bnewsletters?\b",
            r"\bsubscribe to (?:our|the) .{0,40}\b(?:newsletters?|channel|podcast|feed)\b",
            r"\b(?:get|have) (?:the|our) .{0,50}\bdelivered (?:straight |directly )?to your inbox",
            r"\bdelivered (?:straight |directly )?to your inbox\b",
            r"\benter your e-?mail(?: address)?\b",
            r"\bthanks? (?:you )?for (?:signing up|subscribing)\b",
            r"\bnever miss (?:a|an) (?:story|update|headline)\b",
            r"^newsletter sign[- ]?up\b",
        )
    ),
    "cookie": tuple(
        re.compile(p, re.IGNORECASE)
        for p in (
            r"\b(?:we|this (?:web)?site|our (?:web)?site) uses? cookies\b",
            r"\buse of cookies\b",
            r"\bby continuing to (?:use|browse|visit)\b",
            r"\b(?:accept|agree to) (?:the |our |all )?(?:use of )?cookies\b",
            r"\bcookie (?:policy|settings|preferences|notice)\b",
        )
    ),
    "donation": tuple(
        re.compile(p, re.IGNORECASE)
        for p in (
            r"\bsupport (?:our|independent|quality|local) (?:journalism|reporting|newsroom)\b",
            r"\b(?:make|please make) a (?:one-off |monthly |small )?(?:donation|contribution)\b",
            r"\bdonate (?:now|today|to (?:us|our))\b",
            r"\bbecome a (?:member|subscriber|supporter|patron)\b",
            r"\bsubscribe (?:now|today) (?:for|to get|and)\b",
            r"\b(?:readers|supporters) like you\b",
            r"\bkeep (?:our|this) (?:journalism|reporting) free\b",
        )
    ),
    "social": tuple(
        re.compile(p, re.IGNORECASE)
        for p in (
            r"\bfollow us on (?:facebook|twitter|x|instagram|telegram|youtube|tiktok)\b",
            r"\b(?:like|join) us on (?:facebook|telegram|whatsapp)\b",
            r"\bdownload (?:our|the) (?:free )?app\b",
            r"\bclick here to\b",
            r"\bshare (?:this|the) (?:article|story) (?:on|with|via)\b",
            r"\bturn on (?:push )?notifications\b",
        )
    ),
    "disclaimer": tuple(
        re.compile(p, re.IGNORECASE)
        for p in (
            r"\bviews (?:and opinions )?expressed (?:in this (?:article|column|piece) )?"
            r"are (?:those )?(?:of |solely )?(?:the )?(?:authors?|writers?|contributors?)",
            r"\bdo(?:es)? not necessarily (?:reflect|represent) the (?:views|position)",
            r"\bthis (?:article|story|post) (?:contains|may contain) affiliate links\b",
            r"\bwe may earn a commission\b",
        )
    ),
    "footer": tuple(
        re.compile(p, re.IGNORECASE)
        for p in (
            r"^(?:copyright|©|\(c\))",
            r"©\s*\d{4}",
            r"\ball rights reserved\b",
            r"\b(?:terms of (?:use|service)|privacy policy)\b.*"
            r"\b(?:terms|policy|cookies|contact)\b",
            r"^(?:about us|contact us|privacy policy|terms of (?:use|service)|sitemap|imprint)$",
            r"\bcommunity standards\b",
            r"\bmay not be (?:published|reproduced|broadcast|rewritten|redistributed)\b",
            r"\breporting by [A-Z][\w.' -]+;? editing by\b",
        )
    ),
}
# Cheap literal prefilter (on the lower-cased line) before the promo regexes run; every
# pattern above needs one of these substrings.
PROMO_TRIGGERS: tuple[str, ...] = (
    "newsletter", "subscribe", "inbox", "e-mail", "email", "signing up", "never miss",
    "cookie", "continuing to", "journalism", "reporting", "newsroom", "donat", "contribution",
    "become a", "like you", "follow us", "us on", "app", "click here", "share th",
    "notifications", "views", "necessarily", "affiliate", "commission", "copyright", "©",
    "(c)", "rights reserved", "terms of", "privacy", "about us", "contact us", "sitemap",
    "imprint", "community standards", "may not be", "editing by",
)
# A promo line with more words than this is treated as prose that mentions the topic.
PROMO_MAX_WORDS = 45

# "By Jane Doe", "By Jane Doe and John Roe, Staff Writer", "By JANE DOE | Reuters".
BYLINE_RE = re.compile(
    r"^(?i:by|written by|words by|story by)[:\s]+"
    r"(?P<name>[A-Z][\w.'’-]+(?:\s+(?:[A-Z][\w.'’-]+|de|van|von|da|di|bin|al|and|&)){0,7})"
    r"(?:\s*[,|–—-]\s*.{0,60})?$",
)
BYLINE_MAX_WORDS = 14

# A dateline opening the first paragraphs: "BEIJING (Sputnik) — ", "LONDON, Nov 5 (Reuters) - ",
# "WASHINGTON — ", "PARIS, France (AFP) -- ". Group `place` is upper case; `agency` optional.
DATELINE_RE = re.compile(
    r"^(?P<place>[A-Z][A-Z.'’-]+(?:[ /][A-Z][A-Z.'’-]+){0,3})"
    r"(?:,\s*(?P<region>[A-Z][\w.' ]{1,30}?))?"
    r"(?:,?\s*(?P<date>(?i:" + _MONTH + r")\s+\d{1,2}))?"
    r"\s*(?:\((?P<agency>[^()]{2,40})\))?"
    r"\s*(?:—|–|--|-)\s+",
)
# How many body paragraphs from the top may carry a dateline.
DATELINE_MAX_PARAGRAPH = 2

# Tag lines: "terror attacks, John Kerry, Sergei Lavrov, United States, Russia".
TAG_SPLIT_RE = re.compile(r"\s*[,;|•·]\s*")
TAG_MAX_WORDS = 4
TAG_MIN_ITEMS = 3
TAG_PREFIX_RE = re.compile(r"^(?:tags|topics|keywords|filed under|related topics)\s*:?\s*", re.I)

# Short words that stay lower case in title-case headlines.
TITLE_SMALL_WORDS: frozenset[str] = frozenset(
    {
        "a", "an", "and", "as", "at", "but", "by", "for", "from", "in", "into", "is", "nor",
        "of", "off", "on", "onto", "or", "over", "per", "the", "to", "up", "via", "vs",
        "with", "its", "s", "after", "amid", "against", "than", "that", "be", "are", "was",
    }
)
