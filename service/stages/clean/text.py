"""Line-level cleaning of flattened pages, and the text normalisation both paths share.

A flattened page has lost its DOM, so the body is found from the lines alone:

1. Lines that are chrome on their own (UI words, timestamps, story-line labels, promos,
   cookie notices, disclaimers, footers, lines learned per source) are removed first.
2. Each remaining line scores +chars when it reads as prose and a penalty when it does
   not (menus, headlines). The best-scoring contiguous run is the body (Kadane), so
   headline lists before and after it fall away while a stray link inside survives only
   when it reads as prose. A run of chrome lines costs more the longer it is (the body
   bridges a caption, not the wall before a related list; a short sentence among the
   chrome does not end the run); related-list headers ("More From the Post", "Sponsored
   Content") and comment markers cost a fixed toll; lines the page repeats, headlines
   glued to their teasers and the comment thread (from its first "X on <date> said:",
   or a "12 comments" below some prose) earn nothing.
3. Inside the body, headline-like lines (title case, no final punctuation) are related
   links and are dropped, and so are image captions (a line ending in its credit, or
   right above a "Name/Getty Images" line); the dateline is cut off the first paragraphs.
4. Around the body: a byline before it, a tag line after it, a title line before it.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import ftfy
from ftfy.badness import is_bad

from service.stages.clean import patterns as P
from service.stages.clean.memo import short_line_memo
from service.stages.entities import unescape_text

# ftfy only where it is certain: fix mojibake, keep curly quotes and character widths.
_FTFY = ftfy.TextFixerConfig(
    uncurl_quotes=False,
    fix_character_width=False,
    fix_latin_ligatures=False,
    normalization="NFC",
    explain=False,
)
_SPACE_RE = re.compile(r"[\s\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
# Zero-width characters, soft hyphens, BOMs, and the explicit bidi embeddings, overrides
# and isolates: an unbalanced U+202E in one paragraph reverses the rest of a reader's page.
_INVISIBLE_RE = re.compile(r"[\u200b-\u200d\u2060\ufeff\u00ad\u202a-\u202e\u2066-\u2069]")
# UTF-8 read as Latin-1/cp1252: a lead-byte letter (Â..ô) then a continuation-byte char.
_MOJIBAKE_HINT_RE = re.compile(
    "[\u00c2-\u00f4][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192"
    "\u02c6\u02dc\u2013\u2014\u2018-\u201a\u201c-\u201e\u2020-\u2022\u2026\u2030"
    "\u2039\u203a\u20ac\u2122]"
)
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _trie_pattern(literals: tuple[str, ...]) -> str:
    """A regex matching where any of `literals` occurs, as a trie: at each position only
    the branch of the next character is tried, not every literal in turn. A literal that
    another one starts with ends the branch (a search only asks whether any occurs)."""
    trie: dict[str, Any] = {}
    for literal in literals:
        node = trie
        for ch in literal:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: dict[str, Any]) -> str:
        if "" in node:
            return ""
        alts = [re.escape(ch) + emit(child) for ch, child in sorted(node.items())]
        return alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"

    return emit(trie)


# Found anywhere in the lower-cased line exactly when one of the triggers is.
_TRIGGER_RE = re.compile(_trie_pattern(P.PROMO_TRIGGERS))
# All promo patterns as one alternation, one named group per reason: one search a line.
_PROMO_RE = re.compile(
    "|".join(
        f"(?P<{reason}>" + "|".join(f"(?:{r.pattern})" for r in regexes) + ")"
        for reason, regexes in P.PROMO_PATTERNS.items()
    ),
    re.IGNORECASE,
)
_CJK_RE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")
# What `_ui_key` strips off both ends of a UI line or part.
_UI_STRIP = " :.!?»›>→-–—"


def _not_ui_char_re() -> re.Pattern[str] | None:
    """A character no line made of UI phrases can hold (for the separator and glue tests):
    not in a phrase, not its upper case (U+212A, the Kelvin sign, lower-cases to "k"), not
    stripped by `_ui_key`, not a separator and not white space. None (no shortcut) if a
    phrase is not ASCII, where other characters could lower-case into one."""
    chars = set("".join(P.UI_PHRASES))
    if not all(c.isascii() for c in chars):
        return None
    chars |= {c.upper() for c in chars} | set(_UI_STRIP) | set("|•·/")
    if "k" in chars:
        chars.add("\u212a")
    return re.compile("[^" + "".join(re.escape(c) for c in sorted(chars)) + r"\s]")


_NOT_UI_CHAR_RE = _not_ui_char_re()
_SENTENCE_BREAK_RE = re.compile(r"[.!?][\"'”’]?\s+[\"“‘]?[A-Z]")
# The end of a word (three lower-case letters, a digit, a closer) followed by a
# capitalised word with no space between; not a name like LeBron, WeWork or McDonald.
_GLUE_RE = re.compile(r"(?:[a-z]{3}|[0-9][a-z]?|[)’'!?])(?=[A-Z][a-z])")
_WORD_RE = re.compile(r"[^\W\d_][\w'’.-]*")

# Kadane scores: prose earns its length; a non-prose line costs at least this much.
NON_PROSE_PENALTY = 35
# Line loops call their `tick` (the clean stage's deadline check) once per this many lines.
TICK_LINES = 256
# Chrome and headline lines are short: longer lines skip those tests, which would
# otherwise run dozens of regexes over a megabyte-long line.
CHROME_MAX_CHARS = 2000
HEADLINE_MAX_CHARS = 1000
PROSE_MIN_WORDS = 5
PROSE_LONG_WORDS = 15
HEADLINE_MIN_WORDS = 3
HEADLINE_MAX_WORDS = 25
HEADLINE_CAPITAL_RATIO = 0.75
SENTENCE_HEADLINE_MIN_WORDS = 5
WRAPPED_MIN_WORDS = 8
# A "More stories" header costs this much to span.
BARRIER_PENALTY = 400.0
# Comment headers are short lines, and section markers ("Leave a Reply") shorter still
# unless they start with a count.
COMMENT_HEADER_MAX_CHARS = 200
COMMENT_MARKER_MAX_CHARS = 40
LIST_HEADER_MAX_CHARS = 60
# Image captions and the photo credits under them are short.
CAPTION_MAX_CHARS = 400
CREDIT_MAX_CHARS = 80
CREDIT_MAX_WORDS = 6
# A comment-section marker opens the thread only below this much prose.
THREAD_MIN_PROSE = 500.0
# Each further line in a run of chrome lines costs this much more than the one before.
GAP_ESCALATION = 15.0
# ... and a prose line this long ends the run (a short sentence among chrome does not).
GAP_RESET_CHARS = 100.0
# Headline + one short sentence, repeated this often, is a related list with teasers.
TEASER_MIN_PAIRS = 2
TEASER_MAX_WORDS = 40
TEASER_MAX_CHARS = 600
GLUED_HEAD_MAX_CHARS = 200


@dataclass
class TextResult:
    """What the line cleaner found: body paragraphs plus the metadata it cut out."""

    paragraphs: list[str]
    title: str | None = None
    byline: str | None = None
    dateline: str | None = None
    dateline_source: str | None = None
    tags: list[str] = field(default_factory=list)
    lines_kept: int = 0
    removed: Counter[str] = field(default_factory=Counter)


def normalise(text: str) -> str:
    """Fix mojibake, NFC, and collapse whitespace inside each line (line breaks kept).

    ftfy runs only when its own badness test fires: it costs ~2 ms on a clean page."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.isascii() and _MOJIBAKE_HINT_RE.search(text) and is_bad(text):
        text = ftfy.fix_text(text, _FTFY)
    text = _CONTROL_RE.sub("", _INVISIBLE_RE.sub("", unicodedata.normalize("NFC", text)))
    # str.split() splits on exactly the characters _SPACE_RE matches (Unicode white
    # space; \u00a0, \u2000-\u200a, \u202f, \u205f and \u3000 are among them), so joining
    # the words is the regex's collapse-and-strip, in C.
    return "\n".join([" ".join(line.split()) for line in text.split("\n")])


Tick = Callable[[str], None]


def split_lines(text: str, *, tick: Tick | None = None) -> list[str]:
    """Non-empty lines, with hard-wrapped prose (next line starts lower case) re-joined.

    HTML entities are decoded first (`&lt;`, and `#39;` that lost its `&`), and markup
    the decoding revealed is dropped (entities.py)."""
    text = unescape_text(text)
    out: list[str] = []
    glue = False
    for n, line in enumerate(text.split("\n")):
        if tick is not None and n % TICK_LINES == 0:
            tick("splitting lines")
        if not line:
            glue = False
            continue
        prev = out[-1] if out else ""
        if glue and line[0].islower() and _wrapped(prev) and tag_items(line) is None:
            out[-1] = f"{out[-1]} {line}"
        else:
            out.append(line)
        glue = True
    return out


def _wrapped(prev: str) -> bool:
    # Hard-wrapped prose breaks long lines mid-sentence; a short line is a heading or link.
    return (
        len(prev.split()) >= WRAPPED_MIN_WORDS
        and not ends_sentence(prev)
        and not is_headline(prev)
    )


_TERMINALS = ".!?…:;。！？"
_CLOSERS = "\"'”’»)]」』"
_CLOSING_QUOTES = "\"”’»」』"


def ends_sentence(line: str) -> bool:
    """`P.TERMINAL_RE.search(line)`, read off the end of the line instead of by a scan:
    a terminal character then only closers, or a closing quote last."""
    if not line:
        return False
    if line[-1] == "\n":  # `$` also matches before a final newline
        return P.TERMINAL_RE.search(line) is not None
    if line[-1] in _CLOSING_QUOTES:
        return True
    head = line.rstrip(_CLOSERS)
    return bool(head) and head[-1] in _TERMINALS


def words(line: str) -> list[str]:
    """Whitespace words; CJK text has none, so count two characters as one word there."""
    tokens = line.split()
    if line.isascii():  # no CJK
        return tokens
    cjk = len(_CJK_RE.findall(line))
    return tokens if cjk < 2 * len(tokens) else tokens + [""] * (cjk // 2 - len(tokens))


def is_prose(line: str) -> bool:
    n = len(words(line))
    return n >= PROSE_LONG_WORDS or (n >= PROSE_MIN_WORDS and ends_sentence(line))


@lru_cache(maxsize=4096)
def is_headline(line: str) -> bool:
    """Title Case with no final punctuation: a headline or a related link, not prose.

    Pure, and asked of the same line up to five times while one page is cleaned (the
    teaser scan, scoring, the body, the title, the lines around it): memoised."""
    if len(line) > HEADLINE_MAX_CHARS or ends_sentence(line):
        return False
    tokens = _WORD_RE.findall(line)
    if not HEADLINE_MIN_WORDS <= len(tokens) <= HEADLINE_MAX_WORDS:
        return False
    content = [t for t in tokens[1:] if t.lower() not in P.TITLE_SMALL_WORDS]
    if not content:
        return False
    capital = sum(1 for t in content if t[0].isupper())
    return capital / len(content) >= HEADLINE_CAPITAL_RATIO


def is_sentence_headline(line: str) -> bool:
    """A headline in sentence case ("Veteran wins the final stage"): capitalised, several
    words, no final punctuation. Only trusted right above the body."""
    if ends_sentence(line) or static_reason(line) is not None:
        return False
    tokens = _WORD_RE.findall(line)
    return SENTENCE_HEADLINE_MIN_WORDS <= len(tokens) <= HEADLINE_MAX_WORDS and line[0].isupper()


def _ui_key(text: str) -> str:
    return text.strip(_UI_STRIP).lower()


def _ui_parts(line: str) -> bool:
    """UI phrases joined by separators ("Share | Tweet") or glued ("standardsDiscussion").
    A line with a character no UI line holds skips both splits."""
    if _NOT_UI_CHAR_RE is not None and _NOT_UI_CHAR_RE.search(line) is not None:
        return False
    if "|" in line or "•" in line or "·" in line or "/" in line:  # else one part
        parts = [p for p in P.UI_SEPARATOR_RE.split(line) if p.strip()]
        if len(parts) > 1 and all(_ui_key(p) in P.UI_PHRASES for p in parts):
            return True
    glued = P.GLUE_SPLIT_RE.split(line)
    return len(glued) > 1 and all(_ui_key(p) in P.UI_PHRASES for p in glued)


@short_line_memo
def static_reason(line: str) -> str | None:
    """Why a line is chrome on its own, or None. The reason becomes a report key.

    A pure function of the line: a site's chrome is judged once per process (half of the
    lines judged in the synthetic corpus are repeats), not once per page."""
    if len(line) > CHROME_MAX_CHARS:
        return None
    key = _ui_key(line)
    if key in P.UI_PHRASES:
        return "ui"
    if _ui_parts(line):
        return "ui"
    if line.endswith((")", ")\n")) and P.STORYLINE_RE.match(line):
        return "storyline"
    n = len(words(line))
    if n <= 12 and P.TIMESTAMP_HAS_DIGIT_RE.search(line):
        if not P.TIMESTAMP_TOKEN_RE.sub("", line).strip():
            return "timestamp"
    if n <= P.PROMO_MAX_WORDS and _TRIGGER_RE.search(line.lower()):
        m = _PROMO_RE.search(line)
        if m:
            return m.lastgroup
    return None


_WORD_CHAR_RE = re.compile(r"\w")


def fold(text: str) -> str:
    """The text's words, case folded, one space apart: how a line is matched to a title."""
    return " ".join(re.findall(r"\w+", text.casefold()))


@lru_cache(maxsize=64)
def _folded_title(title: str) -> str:
    return fold(title)


def is_title_line(line: str, title: str) -> bool:
    """The page title as a line, possibly with the site name appended ("Title | Site")."""
    tf = _folded_title(title)
    if not tf:
        return False
    # The folds begin with the first word character of the line, case folded (casefold
    # maps character by character): when that is not the title's, nothing below can match.
    first = _WORD_CHAR_RE.search(line[: len(title) + 8].casefold())
    if first is not None and first.group() != tf[0]:
        return False
    # Each way to match starts the line's fold with the title's (a head is a prefix of
    # the line, so its fold is a prefix of the line's), and the fold of the line's first
    # characters is a prefix of the whole fold: when it parts from the title's, no
    # paragraph needs folding.
    lead = fold(line[: len(title) + 8])
    common = min(len(lead), len(tf))
    if lead[:common] != tf[:common]:
        return False
    lf = fold(line)
    if lf == tf:
        return True
    head = re.split(r"\s+[|–—-]\s+", line)[0]
    return len(tf) >= 20 and (fold(head) == tf or (lf.startswith(tf) and len(lf) < len(tf) + 40))


def tag_items(line: str) -> list[str] | None:
    """The items of a tag line ("a, B c, D"), or None when the line is not one."""
    prefixed = P.TAG_PREFIX_RE.match(line)
    body = line[prefixed.end():] if prefixed else line
    if not body or (ends_sentence(body) and not body.endswith(".")):
        return None
    if body.endswith("."):
        return None
    items = [i.strip() for i in P.TAG_SPLIT_RE.split(body) if i.strip()]
    need = 1 if prefixed else P.TAG_MIN_ITEMS
    if len(items) < need or any(len(i.split()) > P.TAG_MAX_WORDS for i in items):
        return None
    if len(items) != len(set(i.casefold() for i in items)):
        return None
    return items


def _gap_costs(
    candidates: _Numbered, scores: list[float], barriers: set[int]
) -> tuple[list[float], list[float]]:
    """Scores with chrome runs made dear: the n-th line in a row that is not prose (a line a
    rule removed counts too) costs GAP_ESCALATION * (n - 1) more than the one before, so
    the body bridges a caption or two but not the wall of chrome between it and a related
    list or the comments. Returns the candidate scores and, per candidate, the cost to
    pay before it (the removed lines above it, a "More stories" header)."""
    out: list[float] = []
    before: list[float] = []
    run, prev = 0, -1
    for k, ((i, _), s) in enumerate(zip(candidates, scores, strict=True)):
        cost = BARRIER_PENALTY if k in barriers else 0.0
        for _ in range(i - prev - 1):
            cost += GAP_ESCALATION * run
            run += 1
        prev = i
        before.append(cost)
        if s >= GAP_RESET_CHARS:
            run = 0
        elif s < 0:
            s -= GAP_ESCALATION * run
            run += 1
        out.append(s)
    return out, before


def _kadane_with_costs(scores: list[float], before: list[float]) -> tuple[int, int]:
    """Kadane where `before[k]` is paid to span from line k - 1 into line k (a run that
    would drop to zero or below by paying it starts afresh at line k instead)."""
    best, best_span = 0.0, (0, 0)
    run, start = 0.0, 0
    for k, s in enumerate(scores):
        run -= before[k]
        if run <= 0:
            run, start = s, k
        else:
            run += s
        if run > best:
            best, best_span = run, (start, k + 1)
    return best_span


def _teaser_runs(texts: list[str]) -> set[int]:
    """Positions of teaser sentences in a headline/teaser/headline/teaser... list."""
    out: set[int] = set()
    k = 0
    while k < len(texts) - 1:
        run: list[int] = []
        while (k + 1 < len(texts) and is_headline(texts[k]) and not is_headline(texts[k + 1])
               and _one_sentence(texts[k + 1])):
            run += [k, k + 1]
            k += 2
        if len(run) >= 2 * TEASER_MIN_PAIRS:
            out.update(run)
        k = k + 1 if not run else k
    return out


def _one_sentence(line: str) -> bool:
    return len(words(line)) <= TEASER_MAX_WORDS and not _SENTENCE_BREAK_RE.search(line)


def _score(line: str) -> float:
    if is_prose(line):
        return float(len(line))
    if ends_sentence(line) and not is_headline(line):
        return 0.0  # a short sentence: neutral, neither body nor chrome
    return -max(NON_PROSE_PENALTY, len(line) / 2)


def _glued_teaser(line: str) -> bool:
    """A headline glued to its teaser by flattening ("Ford Recalls F-150sFord is
    recalling..."): a Title Case head runs into a capitalised word with no space."""
    if len(line) > TEASER_MAX_CHARS:
        return False
    m = _GLUE_RE.search(line, 0, GLUED_HEAD_MAX_CHARS)
    return m is not None and is_headline(line[: m.end()].rstrip("?!"))


def _scores(texts: list[str], teasers: set[int]) -> list[float]:
    """Each line's Kadane score. A teaser costs its length; a line the page repeats (a
    related list shown twice, a headline echoed in a sidebar) earns nothing as prose."""
    seen = Counter(texts)
    out: list[float] = []
    for k, t in enumerate(texts):
        s = -float(len(t)) if k in teasers else _score(t)
        if s > 0 and seen[t] > 1:
            s = 0.0
        elif s > 0 and _glued_teaser(t):
            s = -float(len(t))
        out.append(s)
    return out

_Numbered = list[tuple[int, str]]  # (index in the input, line)


def clean_lines(
    lines: Sequence[str],
    *,
    title_hint: str | None = None,
    learned: Sequence[bool] | None = None,
    tick: Tick | None = None,
) -> TextResult:
    """Find the body among normalised, non-empty lines; see the module docstring.

    Drop the lines a rule recognises, score the rest, take the best run as the body, then
    read the byline, dateline, tags and title from the lines around it."""
    removed: Counter[str] = Counter()
    candidates, barriers, comments = _drop_rule_lines(lines, title_hint, learned, tick, removed)
    texts = [line for _, line in candidates]
    teasers = _teaser_runs(texts)
    _tick(tick, "related lists")
    scores = _scores(texts, teasers)
    _mute_thread(scores, comments)
    _tick(tick, "scoring lines")
    start, end = _kadane_with_costs(*_gap_costs(candidates, scores, barriers))
    before, body, after = candidates[:start], candidates[start:end], candidates[end:]
    result = TextResult(paragraphs=[], removed=removed)
    _keep_body(result, body, start, teasers)
    byline_at = _take_byline(result, before, body)
    take_dateline(result)
    _take_tags(result, after, end, teasers)
    if title_hint is None:
        result.title = _title_above(before, byline_at)
    _count_above(result, before, byline_at, teasers)
    result.lines_kept = len(result.paragraphs)
    return result


def _tick(tick: Tick | None, step: str) -> None:
    if tick is not None:
        tick(step)


def _drop_rule_lines(
    lines: Sequence[str],
    title_hint: str | None,
    learned: Sequence[bool] | None,
    tick: Tick | None,
    removed: Counter[str],
) -> tuple[_Numbered, set[int], list[tuple[int, bool]]]:
    """The lines no rule removes; the positions among them that follow a "More stories"
    header or a comment line (the body rarely spans one); and the comment lines, as
    (position of the next candidate, True for a comment's header, False for a section
    marker). The removed lines are counted by reason."""
    candidates: _Numbered = []
    barriers: set[int] = set()
    comments: list[tuple[int, bool]] = []
    for i, line in enumerate(lines):
        if i % TICK_LINES == 0:
            _tick(tick, "line rules")
        reason = _rule_reason(line, title_hint, learned is not None and learned[i])
        if reason is None and len(line) <= COMMENT_HEADER_MAX_CHARS:
            reason = _list_or_comment_header(line, len(candidates), comments)
        if reason:
            removed[reason] += 1
            if _is_barrier(line, reason):
                barriers.add(len(candidates))
        else:
            candidates.append((i, line))
    return candidates, barriers, comments


def _is_barrier(line: str, reason: str) -> bool:
    """A removed line the body rarely continues past: a list or comment header."""
    if reason in ("comments", "list_header") or _ui_key(line) in P.SECTION_HEADERS:
        return True
    return reason == "ui" and P.LIST_HEADER_RE.match(line) is not None


def _list_or_comment_header(
    line: str, position: int, comments: list[tuple[int, bool]]
) -> str | None:
    """"list_header" for the header of a list of other stories, "comments" for a comment
    line (appended to `comments` with its kind), else None."""
    if len(line) <= LIST_HEADER_MAX_CHARS and P.LIST_HEADER_RE.match(line):
        return "list_header"
    kind = _comment_kind(line)
    if kind is None:
        return None
    comments.append((position, kind))
    return "comments"


def _comment_kind(line: str) -> bool | None:
    """True for a comment's header ("Jane on May 3 at 4:47 pm said:"), False for a
    comment-section marker ("12 comments", "Leave a Reply"), None for neither."""
    counted = line[0].isdigit() or line[0] == "["  # "12 comments", "6 thoughts on ..."
    if (counted or line[-1] == ":") and P.COMMENT_HEADER_RE.match(line):
        return True
    if (counted or len(line) <= COMMENT_MARKER_MAX_CHARS) and P.COMMENT_MARKER_RE.match(line):
        return False
    return None


def _mute_thread(scores: list[float], comments: list[tuple[int, bool]]) -> None:
    """From where the comment thread starts on, prose earns nothing. It starts at the
    first comment header, or at the first section marker ("12 comments") with at least
    THREAD_MIN_PROSE characters of prose above it: a marker higher up is a count next to
    the byline."""
    if not comments:
        return
    prose = 0.0
    thread, k = len(scores), 0
    for at, header in comments:
        while k < at:
            prose += max(scores[k], 0.0)
            k += 1
        if header or prose >= THREAD_MIN_PROSE:
            thread = at
            break
    for k in range(thread, len(scores)):
        scores[k] = min(scores[k], 0.0)


def _rule_reason(line: str, title_hint: str | None, learned: bool) -> str | None:
    """Chrome by a static rule, the page title, or a line the source repeats."""
    reason = static_reason(line)
    if reason is None and title_hint and is_title_line(line, title_hint):
        reason = "title"
    if reason is None and learned and not byline_name(line):
        reason = "learned"  # a byline recurs when one author writes a lot; keep it
    return reason


def _keep_body(result: TextResult, body: _Numbered, start: int, teasers: set[int]) -> None:
    """The body run's lines become paragraphs, except headlines, teasers and image
    captions inside it."""
    for k, (i, line) in enumerate(body, start):
        if _is_caption(line, body[k - start + 1] if k - start + 1 < len(body) else None, i):
            result.removed["caption"] += 1
        elif k not in teasers and (is_prose(line) or not is_headline(line)):
            result.paragraphs.append(line)
        else:
            result.removed["related"] += 1


def _is_caption(line: str, below: tuple[int, str] | None, i: int) -> bool:
    """An image caption: it ends with its credit ("... (Image: Getty)"), or the line right
    below it is a photo credit ("Jane Doe/Getty Images")."""
    if len(line) > CAPTION_MAX_CHARS:
        return False
    if line.endswith(")") and P.INLINE_CREDIT_RE.search(line):
        return True
    if below is None or below[0] != i + 1:
        return False
    credit = below[1]
    if len(credit) > CREDIT_MAX_CHARS or len(credit.split()) > CREDIT_MAX_WORDS:
        return False
    return P.CREDIT_RE.search(credit) is not None


def _take_tags(result: TextResult, after: _Numbered, end: int, teasers: set[int]) -> None:
    """Below the body: the first tag line becomes the tags; the rest is counted removed."""
    for k, (_, line) in enumerate(after, end):
        items = tag_items(line)
        if items is not None and not result.tags:
            result.tags = items
            result.removed["tags"] += 1
        else:
            result.removed[_outside_reason(line, k, teasers)] += 1


def _title_above(before: _Numbered, byline_at: int | None) -> str | None:
    """The title is the last heading before the body, not the site's first menu item;
    the line right above the body may be a sentence-case headline too."""
    above = [(i, ln) for i, ln in before if i != byline_at]
    if above and is_sentence_headline(above[-1][1]):
        return above[-1][1]
    return next((ln for _, ln in reversed(above) if is_headline(ln)), None)


def _count_above(
    result: TextResult, before: _Numbered, byline_at: int | None, teasers: set[int]
) -> None:
    """Above the body, every line but the byline is removed: the title or chrome."""
    for k, (i, line) in enumerate(before):
        if i == byline_at:
            continue
        if result.title is not None and line == result.title:
            result.removed["title"] += 1
        else:
            result.removed[_outside_reason(line, k, teasers)] += 1


def _outside_reason(line: str, position: int, teasers: set[int]) -> str:
    return "related" if is_headline(line) or position in teasers else "outside_body"


def byline_name(line: str) -> str | None:
    """The author's name when a short line is a byline ("By Jane Doe"), else None."""
    if len(words(line)) > P.BYLINE_MAX_WORDS:
        return None
    if ends_sentence(line) and not (line.endswith(".") and len(words(line)) <= 5):
        return None
    m = P.BYLINE_RE.match(line)
    return m.group("name").strip() if m else None


def _take_byline(
    result: TextResult, before: list[tuple[int, str]], body: list[tuple[int, str]]
) -> int | None:
    """Move the first byline near the top of the body into `result`; its line index."""
    for i, line in [*before[-8:], *body[:1]]:
        name = byline_name(line)
        if name:
            result.byline = name
            if body and i == body[0][0] and result.paragraphs[:1] == [line]:
                result.paragraphs.pop(0)
            result.removed["byline"] += 1
            return i
    return None


def take_dateline(result: TextResult) -> None:
    """Cut a dateline ("BEIJING (Sputnik) — ") off the first paragraphs into `result`."""
    for k, para in enumerate(result.paragraphs[: P.DATELINE_MAX_PARAGRAPH]):
        m = P.DATELINE_RE.match(para)
        if m is None:
            continue
        rest = para[m.end():]
        if len(rest) < 20 or not (rest[0].isupper() or rest[0].isdigit() or rest[0] in "\"“'‘"):
            continue  # a dateline is followed by a sentence, not "NASA - the agency - said"
        result.dateline = m.group("place").strip()
        agency = m.group("agency")
        result.dateline_source = agency.strip() if agency else None
        result.paragraphs[k] = rest  # a prefix cut, not a removed line
        return


def filter_extracted(
    lines: Sequence[str],
    *,
    title_hint: str | None = None,
    learned: Sequence[bool] | None = None,
    tick: Tick | None = None,
) -> TextResult:
    """Post-extraction filter for the HTML path: the DOM already found the body, so only
    line rules, learned lines, the title, a leading byline and the dateline are removed."""
    result = TextResult(paragraphs=[])
    for i, line in enumerate(lines):
        if tick is not None and i % TICK_LINES == 0:
            tick("line rules")
        reason = static_reason(line)
        if reason is None and learned is not None and learned[i]:
            reason = "learned"
        if reason is None and title_hint and is_title_line(line, title_hint):
            reason = "title"
        if reason is None and not result.paragraphs and result.byline is None:
            name = byline_name(line)
            if name:
                result.byline, reason = name, "byline"
        if reason:
            result.removed[reason] += 1
        else:
            result.paragraphs.append(line)
    take_dateline(result)
    result.lines_kept = len(result.paragraphs)
    return result
