"""Street addresses in free text (US, UK and European forms, PO boxes, military mail).

The address recognizer (``detectors/address_recognizer.py``) takes an address after its
key and one-line US or Chinese street addresses anywhere. In support tickets and mails an
address is written in prose or as a block of lines:

    please send it to 22 Amsinckstrasse 9
     Suite 776
     Arnsdorf
     Malta 38302

This pass finds a *street line* and then takes the lines or comma-separated parts after it
that continue an address (apartment or suite, city, region code, country and postcode).

A street line is a house number and words (`994 Pine Lane`, `92 Eusebio Dávila 57`), words
with a street word and a number (`Obere Bahnhofstrasse 9`, `Via Roma 12`), a PO box
(`P.O. Box 41`, `PSC 1083, Box 3672`) or a ship (`USNV Heilmann`). A number followed by
words is everywhere in logs (`3 retries in 5 s`), so a street line counts only with
evidence: a street word (`Street`, `Ave`, `-strasse`, `-vej`, `Rua`...), a cue before it
(`address`, `lives at`, `ship to`), or an address part after it (`Apt. 4`, a postcode).

It runs only on free-text fields (``Scanner.scan(..., ner=True)``), and only on texts with
a digit.
"""

from __future__ import annotations

import re

import regex

from pipeline.detection import _native
from pipeline.detection.findings import Finding

__all__ = ["find_addresses"]

_L = r"\p{L}"
_WORD = rf"{_L}[{_L}'’\-]*\.?"
# Street words: whole words (`Street`, `Rua`) and German/Nordic/Dutch endings glued to
# the name (`Bahnhofstrasse`, `Degnehøjvej`, `Lozerlaan`).
_STREET_WORDS = (
    r"street|st|avenue|ave|av|road|rd|lane|ln|drive|dr|boulevard|blvd|court|ct|way|place|pl"
    r"|terrace|parkway|pkwy|circle|cir|highway|hwy|square|sq|alley|crescent|close|mews|row"
    r"|grove|gardens|hill|park|walk|trail|loop|plaza|pike|turnpike|route"
    r"|rue|via|viale|piazza|corso|calle|avenida|avda|rua|travessa|camino|camiño|carrer|paseo"
    r"|plaza|rambla|ul|ulica|aleja|utca|út|tér|ulice|náměstí|rruga|odos|odós|leoforos"
    r"|strasse|straße|str|gasse|platz|allee|allé|weg|damm|ufer"
    r"|laan|straat|plein|gracht|singel|kade|dijk|steenweg|plaats|dreef"
    r"|vej|gade|vei|veien|gata|gatan|vägen|väg|tie|katu|kuja|tee|iela"
)
_STREET_GLUED = (
    r"(?:strasse|straße|gasse|platz|allee|weg|damm|laan|straat|plein|gracht|singel|kade|dijk"
    r"|steenweg|plaats|dreef|vej|gade|veien|gata|gatan|vägen|katu|kuja|iela)"
)
_HAS_STREET_WORD = regex.compile(
    rf"(?i)(?<!{_L})(?:{_STREET_WORDS})(?!{_L})|{_L}{{3}}{_STREET_GLUED}(?!{_L})"
)
_NUM = r"\d{1,5}(?:st|nd|rd|th|[A-Za-z])?"
# Words of a street name written before its number: capitalized, or a particle.
_NAME_WORD = rf"(?:\p{{Lu}}[{_L}'’\-]*\.?|(?:de|da|di|del|der|van|von|la|le|du|dos|das))"
_STREET_LINE = regex.compile(
    rf"(?<![\w.,\-/:#])(?:"
    # number, words, maybe a second number (`92 Eusebio Dávila 57`, `994 Pine Lane`)
    rf"{_NUM}[ \t]+(?:{_NUM}[ \t]+)?(?:{_WORD}[ \t]+){{0,5}}{_WORD}(?:[ \t]+{_NUM}\b\.?)?"
    # words with a street word, then the number (`Obere Bahnhofstrasse 9`, `Via Roma 12`)
    rf"|\p{{Lu}}[{_L}'’\-]*\.?(?:[ \t]+{_NAME_WORD}){{0,4}}[ \t]+{_NUM}\b\.?"
    # PO boxes and military mail
    r"|(?:P\.?[ \t]?O\.?[ \t]?Box|PSC[ \t]+\d{3,5},?[ \t]+Box|Unit[ \t]+\d{3,5},?[ \t]+Box)"
    r"[ \t]+\d{1,6}"
    r"|(?:USNS|USNV|USS|USCGC)[ \t]+\p{Lu}\p{Ll}+"
    r")"
)
_PO_BOX = regex.compile(
    r"(?i)^(?:P\.?[ \t]?O\.?[ \t]?Box|PSC|Unit[ \t]+\d+,?[ \t]+Box|USNS|USNV|USS|USCGC)"
)
_CUE_WORDS = (
    r"address|addresses|addr|live[sd]? at|living at|moved to|move to|sent to"
    r"|send (?:it |this |them )?to|ship(?:ped)? to|deliver(?:ed|y)? to|located at"
    r"|meet (?:me |us )?at|based at|"
    r"reside[sd]? at|residence|stay(?:ing)? at|office at|is at|at the|arrived at"
    r"|mail to|post to"
)
_CUE = regex.compile(rf"(?i)(?:{_CUE_WORDS})[^\n.!?]{{0,40}}$")
# Parts after a street line: a unit (`Apt. 4`, `Suite 776`), a city or country with
# or without a postcode, a region code (`, BZ`), a postcode alone, a military code.
_UNIT = r"(?:apt\.?|apartment|suite|ste\.?|unit|room|rm\.?|flat|floor|fl\.?|#)[ \t]?[\w\-]{1,6}"
_POSTCODE = (
    r"(?:\d{4,6}(?:-\d{4})?|[A-Z]{1,2}\d[A-Z\d]?[ \t]?\d[A-Z]{2}|[A-Z]\d[A-Z][ \t]?\d[A-Z]\d)"
)
_PLACE = rf"{_L}[{_L}'’.\-]*(?:[ \t]+{_L}[{_L}'’.\-]*){{0,4}}"
_PART = regex.compile(
    rf"(?i:{_UNIT})(?![\w])"
    rf"|(?:{_PLACE}),?[ \t]+(?:[A-Z]{{1,3}}[ \t]+)?{_POSTCODE}(?![\w])"
    rf"|,?[ \t]*(?:[A-Z]{{2,3}}|nan)(?:[ \t]+{_POSTCODE})?(?![\w])"
    rf"|(?:APO|FPO|DPO)[ \t]+(?:AA|AE|AP)[ \t]+\d{{5}}"
    rf"|{_POSTCODE}(?=[ \t]*(?:\n|,|$))"
    rf"|{_PLACE}(?![\w])"
)
_STRONG_PART = regex.compile(rf"(?i:{_UNIT})|.*\d{{4,6}}|(?:APO|FPO|DPO)[ \t]")
# What separates the parts of an address: a line break (maybe quoted with `>` or a
# bullet), a comma, or spaces.
_SEP = regex.compile(r"(?:[ \t]*\n(?:[ \t]*\n)?[ \t>?]*|,[ \t]*|[ \t]+)")
# Words that end an address in prose (`... Calgary AB last night`).
_PROSE = frozenset(
    "the a an and or but for to of in on at by with from is was are be been this that last "
    "next please thanks thank i we you he she it they my our your his her their if when as so "
    "for post mail card asap today tomorrow yesterday".split()
)


def find_addresses(text: str) -> list[Finding]:
    """Return the street addresses in ``text`` (entity ``ADDRESS``, score 0.95: above
    the name passes, whose `Rue Joseph Vernet` is part of an address)."""

    if _DIGIT.search(text) is None:
        return []
    bits = _gate_bits(text)  # (see "native pre-check" below for why this is exact)
    if bits & _RICH:
        starts = _candidate_starts(text)
    elif bits & _STRONG:
        starts = [m.start() for m in _NUMBER_START.finditer(text)]
    else:
        return []
    found: list[tuple[int, int]] = []
    pos = 0
    for start in starts:
        if start < pos:
            continue
        m = _STREET_LINE.match(text, start)
        if m is None:
            continue
        end = m.end()
        line = m.group()
        end_parts, strong = _extend(text, end, lowercase=line == line.lower())
        if not strong and not bits & _RICH:
            continue  # (without "rich", `strong` is the only evidence there can be)
        words_first = not line[:1].isdigit()
        evidence = (
            _PO_BOX.match(line) is not None
            or (_HAS_STREET_WORD.search(line) is not None and _has_number_and_name(line))
            or (strong and _has_number_and_name(line))
            or (
                _CUE.search(text, max(0, start - 60), start) is not None
                and _has_number_and_name(line)
            )
        )
        if words_first and _PO_BOX.match(line) is None and (
            _HAS_STREET_WORD.search(line) is None or _TITLE_FIRST.match(line) is not None
        ):
            # `They're not answering at 785 8949`: words then a number is a street line
            # only with a street word in it (`Obere Bahnhofstrasse 9`).
            evidence = False
        if evidence and not _looks_like_log(line):
            found.append((start, end_parts))
            pos = end_parts
    return [Finding(s, e, "ADDRESS", 0.95, "addresses") for s, e in found]


# Where a street line may start, found with C-level `re` searches so that the
# backtracking street-line pattern runs only there (a log message has digits but rarely
# `<number> <word>`): a house number before a word, a PO box or ship, and the capitalized
# words up to five before a street word (`Obere Bahnhofstrasse 9`).
_NUMBER_START = re.compile(
    r"(?<![\w.,\-/:#])\d{1,5}(?:st|nd|rd|th|[A-Za-z])?[ \t]+"
    r"(?:\d{1,5}(?:st|nd|rd|th|[A-Za-z])?[ \t]+)?[^\W\d_]"
)
_BOX_START = re.compile(
    r"(?<![\w.,\-/:#])(?:P\.?[ \t]?O\.?[ \t]?Box|PSC[ \t]|Unit[ \t]+\d|US(?:NS|NV|S|CGC)[ \t])"
)
# A letter (maybe with a period) and a space right before a number: where a words-first
# street line (`Via Roma 12`, `Obere Bahnhofstrasse 9`) ends. (No repeat in the pattern:
# it is searched in every free-text value.)
_WORD_NUMBER = re.compile(r"[^\W\d_]\.?[ \t]+\d")
_STREET_SET = frozenset(_STREET_WORDS.replace("(?:", "").replace(")", "").split("|"))
_GLUED_ENDINGS = tuple(_STREET_GLUED.replace("(?:", "").replace(")", "").split("|"))
_CAPITAL_START = re.compile(r"(?<![\w'’\-.])[^\W\d_a-z]")
_TOKEN = re.compile(r"[^\W\d_]+")


def _candidate_starts(text: str) -> list[int]:
    starts = {m.start() for m in _NUMBER_START.finditer(text)}
    if "Box" in text or "US" in text or "PSC" in text or "Unit" in text:
        starts.update(m.start() for m in _BOX_START.finditer(text))
    for m in _WORD_NUMBER.finditer(text):
        lo = max(0, m.start() - 60)
        words = _TOKEN.findall(text, lo, m.start() + 1)[-5:]
        if any(
            w.lower() in _STREET_SET or (len(w) > 6 and w.lower().endswith(_GLUED_ENDINGS))
            for w in words
        ):
            starts.update(c.start() for c in _CAPITAL_START.finditer(text, lo, m.start() + 1))
    return sorted(starts)


# `Dr. Fields is a 50`, `St. Mary 3`: a title, not a street word, at the start.
_TITLE_FIRST = regex.compile(r"(?i)(?:dr|st|mr|mrs|ms)\b\.?")


_DIGIT = re.compile(r"\d")
_THREE_LETTERS = regex.compile(rf"{_L}{{3}}")


def _has_number_and_name(line: str) -> bool:
    """A street line has a house number and a name word of 3+ letters."""
    return _DIGIT.search(line) is not None and _THREE_LETTERS.search(line) is not None


# Log prose that has the shape of `number words number`: units and counters.
_LOG_WORDS = regex.compile(
    r"(?i)(?<!\p{L})(?:ms|us|µs|sec|secs|seconds?|minutes?|mins?|hours?|days?|bytes?|kb|mb|gb|"
    r"retries|retry|attempts?|times|items?|records?|rows?|errors?|requests?|users?|of|in|"
    r"out|x|pages?|version|v|build|port|pid|thread|line|code|status|id)(?!\p{L})"
)


def _looks_like_log(line: str) -> bool:
    return _HAS_STREET_WORD.search(line) is None and _LOG_WORDS.search(line) is not None


def _extend(text: str, end: int, *, lowercase: bool) -> tuple[int, bool]:
    """Take the address parts after a street line; return the new end and whether a
    strong part (unit, postcode, military code) was among them. Place names must be
    capitalized unless the street line itself is written in lower case."""
    strong = False
    for _ in range(6):
        sep = _SEP.match(text, end)
        if sep is None:
            break
        part = _PART.match(text, sep.end())
        if part is None or part.end() == sep.end():
            break
        value = part.group()
        words = value.replace(",", " ").split()
        if words and words[0] in _PROSE:
            # (As written: `OR` before a ZIP code is Oregon, `or` is prose.)
            break
        is_strong = _STRONG_PART.match(value) is not None
        if not is_strong and not lowercase and value.lstrip(", \t")[:1].islower():
            # `..., IA 61205, tel 173...`: a lower-case word is prose, not a place.
            break
        if sep.group().strip(" \t") == "" and not is_strong and not value[:1].isupper():
            # After a space only capitalized places (`Curitiba Paraná`) or strong parts.
            break
        if "\n\n" in sep.group().replace(" ", "").replace("\t", "") and not is_strong:
            break
        # A prose word inside a place part ends the address there.
        cut = _prose_cut(value)
        if cut == 0:
            break
        end = sep.end() + cut
        strong = strong or is_strong
    return end, strong


def _prose_cut(value: str) -> int:
    """Length of ``value`` before its first prose word (all of it when none)."""
    offset = 0
    for word in value.split(" "):
        if word.strip(",.") in _PROSE:
            return offset - 1 if offset else 0
        offset += len(word) + 1
    return len(value)


# ------------------------------------------------------------------ native pre-check
# Most free-text values have a digit and some `<number> <word>` (`7144 rows`), so the
# candidate search above runs on nearly all of them; few hold anything an address
# needs besides a number. One pass of small Rust `regex` sets
# (pipeline.detection._native.PatternSet) gives two bits, each a *necessary condition*
# (see pipeline/detection/names.py, "native pre-check", for why ASCII texts only; any
# other text gets both bits):
#
# * "rich": a PO-box or ship word at a word start, a street word (whole, or a glued
#   ending after three letters) with a non-letter or the end after it, or an address
#   cue anywhere. Without it only a *number-first* street line can be an address:
#   `_PO_BOX.match(line)`, `_HAS_STREET_WORD.search(line)` and `_CUE.search(...)` are all
#   false (a line starts after a non-word character, as every candidate start's
#   lookbehind requires, and ends before a non-letter unless it is a PO box or ship
#   line, which starts with such a word), so the evidence is `strong`, and a words-first
#   line (a PO box, ship or capital start) is refused without a street word or PO box.
#   Number-first lines start where _NUMBER_START matches, so find_addresses looks only
#   there; the starts it leaves out never yield and never move `pos`.
# * "strong": a number-first street line, then up to five address parts and a strong
#   one, each after a separator, as _extend takes them: _STREET_LINE's first
#   alternative, _SEP and _PART without their lookarounds (`\b`, `(?![\w])`), and a
#   strong part as _STRONG_PART accepts it: a unit, `APO`/`FPO`/`DPO` and a space, or
#   4 to 6 digits in a row, which in a _PART value can only be a numeric postcode
#   (places are letters; the UK and Canadian forms have at most 3 digits in a row),
#   whose lookaheads all want a non-word character or the end after it. Without
#   "rich" a line without a strong part is never an address, so without either bit
#   there is nothing to find.
# tests/detectors/test_freetext_gate.py runs find_addresses with and without the bits.
# (The patterns use the module's own pieces: on ASCII text `\p{L}`, `\d` and `\w` are
# `[A-Za-z]`, `[0-9]` and `[A-Za-z0-9_]` in `regex` and in Rust alike; `\p{L}` is written
# out, the crate is built without its general categories.)
_NOT_LETTER = r"(?:^|[^A-Za-z])"
_W, _PL = (p.replace(r"[\p{L}", "[A-Za-z").replace(r"\p{L}", "[A-Za-z]") for p in (_WORD, _PLACE))
_LINE_R = rf"{_NUM}[ \t]+(?:{_NUM}[ \t]+)?(?:{_W}[ \t]+){{0,5}}{_W}(?:[ \t]+{_NUM}\.?)?"
_PART_R = (
    rf"(?i:{_UNIT})"
    rf"|(?:{_PL}),?[ \t]+(?:[A-Z]{{1,3}}[ \t]+)?{_POSTCODE}"
    rf"|,?[ \t]*(?:[A-Z]{{2,3}}|nan)(?:[ \t]+{_POSTCODE})?"
    rf"|(?:APO|FPO|DPO)[ \t]+(?:AA|AE|AP)[ \t]+\d{{5}}"
    rf"|{_POSTCODE}"
    rf"|{_PL}"
)
_STRONG_R = (
    rf"(?i:{_UNIT})|(?:APO|FPO|DPO)[ \t]"
    rf"|(?:(?:{_PL}),?[ \t]+(?:[A-Z]{{1,3}}[ \t]+)?|,?[ \t]*(?:[A-Z]{{2,3}}|nan)[ \t]+)?"
    r"\d{4,6}(?:-\d{4})?(?:$|[^\w])"
)
_GATE_PATTERNS = (
    (
        "rich",
        r"(?:^|[^A-Za-z0-9_])(?i:p\.?[ \t]?o\.?[ \t]?box|psc|unit|us[nsc])"
        rf"|{_NOT_LETTER}(?i:{_STREET_WORDS})(?:$|[^A-Za-z])"
        rf"|[A-Za-z]{{3}}(?i:{_STREET_GLUED})(?:$|[^A-Za-z])"
        rf"|(?i:{_CUE_WORDS})",
    ),
    (
        "strong",
        rf"{_LINE_R}(?:{_SEP.pattern}(?:{_PART_R})){{0,5}}{_SEP.pattern}(?:{_STRONG_R})",
    ),
)
_RICH, _STRONG = 1, 2
_ALL_BITS = _RICH | _STRONG
_gate: _native.PatternSet | None = None
_gate_failed = False


def _gate_bits(text: str) -> int:
    """The pre-check's bits for ``text`` (both for non-ASCII text)."""
    global _gate, _gate_failed
    if not text.isascii():
        return _ALL_BITS
    if _gate is None:
        if _gate_failed:
            return _ALL_BITS
        try:
            _gate = _native.PatternSet([p for _, p in _GATE_PATTERNS], [0, 1])
        except ValueError:  # (a pattern the Rust crate refuses: no shortcut)
            _gate_failed = True
            return _ALL_BITS
    bits: int = _gate.hits(text)
    return bits
