"""Person names in free text that the small spaCy model misses: a gazetteer pass.

The English ``sm`` model finds `Dear Mary Lopez` but often not names in the flat prose of
log messages (`KYC check passed for Sun Tao id=...`, `forwarded to agent Lucas Walker`),
and not romanized Chinese names at all. This pass runs next to NER on free-text fields
only, and takes two capitalized words when

* one is a common Chinese surname in pinyin and the other is one or two pinyin
  syllables (`Zhou Lei`, `Xinyi Hu`), or
* the first is a common English given name and the second is not an ordinary word
  (`Lucas Walker`, but not `Will Not`), or
* the second is a frequent surname that is not an ordinary word (`Grace Fischer`; after
  `Contact`, `Dear`, `Customer`..., the surname alone).

It is deliberately small: a list of frequent names generalizes to unseen logs, and
anything it misses NER may still find.
"""

from __future__ import annotations

import re

import regex

from pipeline.detection import _native
from pipeline.detection.findings import Finding

# The most frequent Chinese surnames, in pinyin (about 85% of the population).
_PINYIN_SURNAMES = frozenset("""
wang li zhang liu chen yang huang zhao wu zhou xu sun ma zhu hu guo he gao lin luo
zheng liang xie song tang han feng deng cao peng zeng xiao tian dong yuan pan yu jiang
cai du ye cheng su wei lu ding ren shen yao cui zhong tan fan jia xia fu fang bai zou
meng xiong qin qiu yin xue yan duan lei hou long shi tao gu mao hao gong shao wan qian
dai mo kong xiang kang niu hong
""".split())

_SYLLABLE = (
    r"(?:zh|ch|sh|[bpmfdtnlgkhjqxrzcsyw])?"
    r"(?:iang|iong|uang|ueng|ang|eng|ing|ong|ian|iao|uai|uan|van|ai|ei|ao|ou|an|en|in|un|"
    r"ia|ie|iu|ua|uo|ue|ui|ve|er|a|o|e|i|u|v)"
)
_GIVEN_PINYIN = re.compile(rf"(?:{_SYLLABLE}){{1,2}}")

# Frequent English given names (US Social Security top names of recent decades), minus
# those that are ordinary words in log messages (Will, Mark, May, Grace, Chase, ...).
_GIVEN_NAMES = frozenset("""
james john robert michael william david richard joseph thomas charles christopher daniel
matthew anthony donald steven paul andrew joshua kenneth kevin brian george timothy
ronald edward jason jeffrey ryan jacob gary nicholas eric jonathan stephen larry justin
scott brandon benjamin samuel gregory alexander patrick jack dennis jerry tyler aaron
jose adam nathan henry douglas zachary peter kyle noah ethan jeremy walter christian
keith roger terry austin sean gerald carl harold dylan arthur lawrence jordan jesse
bryan billy bruce gabriel joe logan albert willie alan eugene russell vincent philip
bobby johnny bradley roy ralph randy louis liam lucas mason elijah oliver aiden
mary patricia jennifer linda elizabeth barbara susan jessica sarah karen lisa nancy
betty sandra margaret ashley kimberly emily donna michelle carol amanda melissa deborah
stephanie dorothy rebecca sharon laura cynthia amy kathleen angela shirley brenda emma
anna pamela nicole samantha katherine christine helen debra rachel carolyn janet maria
catherine heather diane olivia julie joyce victoria ruth virginia lauren kelly christina
joan evelyn judith andrea hannah megan cheryl jacqueline martha madison teresa gloria
sara janice ann kathryn abigail sophia frances jean alice judy isabella julia denise
amber doris marilyn danielle beverly charlotte natalie theresa diana brittany kayla
alexis lori ava mia chloe ella harper zoe lily aria
""".split())

# Frequent surnames that are not also ordinary English words or places (so `Hyde Park`,
# `Long Polling`, `Green Build` stay): US census, German, French, Spanish, Italian,
# Vietnamese, Korean, Japanese and Indian lists. One of them after any capitalized word
# is a name (`Contact Grace Fischer`); surnames that are words (`Young`, `King`) still
# need a given name before them.
_SURNAMES = frozenset("""
smith johnson williams jones garcia miller davis rodriguez martinez hernandez lopez
gonzalez wilson anderson thomas taylor moore jackson thompson harris sanchez clark
ramirez lewis robinson walker allen wright scott torres nguyen flores adams nelson
mitchell perez roberts phillips campbell parker edwards collins morris rogers morgan
murphy rivera richardson howard peterson ramos watson sanders bennett barnes henderson
coleman jenkins powell patterson hughes simmons foster gonzales bryant griffin diaz
hayes myers graham sullivan owens reynolds fisher harrison mcdonald cruz ortiz gomez
murray freeman webb simpson stevens tucker hicks crawford boyd kennedy dixon gordon
robertson daniels nichols ferguson hawkins dunn perkins hudson stephens matthews arnold
wagner willis watkins olson carroll snyder cunningham bradley andrews ruiz harper riley
armstrong greene elliott chavez sims peters kelley lawson gutierrez schmidt fischer
schneider meyer weber schulz becker hoffmann koch richter klein schroeder neumann
zimmermann krueger hartmann lange werner krause lehmann schmitt mueller muller dubois
durand leroy moreau laurent lefebvre fournier girard mercier dupont lambert bonnet
francois rousseau blanc guerin boyer garnier chevalier gauthier romero alvarez mendoza
castillo jimenez moreno ortega delgado vargas medina castro herrera aguilar vasquez
guzman navarro reyes morales rossi russo ferrari esposito bianchi romano colombo ricci
marino greco conti costa giordano mancini tran pham hoang huynh phan vu dang bui kim lee
choi jung kang cho yoon jang lim seo kwon hwang ahn yoo sato suzuki takahashi tanaka
watanabe ito yamamoto nakamura kobayashi kato yoshida yamada sasaki yamaguchi matsumoto
inoue kimura hayashi shimizu patel sharma singh kumar gupta shah mehta reddy iyer nair
khan ali ahmed hussain rahman chowdhury
""".split())
# Capitalized words that start a sentence or a phrase before a surname
# (`Contact Fischer`, `Customer Nguyen`): the name is the surname alone.
_NOT_GIVEN = frozenset("""
the a an and or but if to of in on at for from with by via as is was are be been
contact contacted call called calling email emailed message messaged notify notified
dear hi hello hey mr mrs ms miss dr prof sir madam customer client user member agent
driver rider courier buyer seller sender recipient receiver patient guest owner
holder account name from per team dept cc re fw fwd thanks regards sent send
""".split())
# Second words that make "given name + word" a phrase, not a person.
_NOT_SURNAMES = frozenset("""
is was has had and or not the to of in on at for from with by as if then than
service server client api app error errors exception id ids key keys order orders user
users account accounts request response session token version build update updated
""".split())

# A capitalized word and, looked ahead (so `Contact Lucas Walker` also yields the pair
# starting at `Lucas`), the capitalized word after it; case-sensitive.
_PAIR = re.compile(
    r"(?<![\w.\-/@])([A-Z][a-z]{1,14})"
    r"(?=([ \t])([A-Z][a-z]{1,14}(?:['\-][A-Z]?[a-z]+)?)(?![\w@/]))"
)


# A word with an inner capital after a lower-case letter (`RxCachedThreadScheduler`,
# `OkHttp`), unless it is a surname prefix (`McDonald`, `DeAndre`, `LeBron`).
_CAMEL = re.compile(r"(?<![\w'])(?!(?:Mc|Mac|De|Di|Da|La|Le|Van|Von)[A-Z][a-z]+\b)\w*[a-z][A-Z]")


def looks_like_identifier(text: str, start: int, end: int) -> bool:
    """Whether an NER "name" is really an identifier of code or configuration.

    The small English model tags thread names, build ids, device models and class names
    in log messages as people (`Thread RxCachedThreadScheduler-3`, `build QK2A.230816`,
    `model=Pixel 8`). A person's name has no digits, no `_`, no camelCase hump inside one
    word, and is not the value of a `key=` or a path or package segment.
    """
    span = text[start:end]
    if any(ch.isdigit() or ch in "_/\\@#$%=<>{}[]" for ch in span):
        return True
    if _CAMEL.search(span):
        return True
    before = text[start - 1] if start else ""
    after = text[end] if end < len(text) else ""
    if before in "=/.\\:$#" and before:
        return True
    # `Pixel 8`, `Thread-3`, `OkHttp.client`: glued to digits or a dotted path.
    tail = text[end : end + 2]
    return after in "-._$" and tail[1:].isalnum() or tail.strip()[:1].isdigit()


def find_names(text: str, *, extended: bool = False) -> list[Finding]:
    """Return the person names the gazetteer recognizes in ``text`` (score 0.9: above
    NER's 0.85, as the model often takes only a part, `Lin` of `Lin Lei`).

    Args:
        text: The text.
        extended: Use the longer given-name list too (free-text fields only).
    """
    given = _ANY_GIVEN if extended else _GIVEN_NAMES

    if not _gate_bits(text) & _BIT["pair"]:
        return []
    spans = []
    for match in _PAIR.finditer(text):
        first, second = match.group(1).lower(), match.group(3).lower()
        start = match.start()
        end = match.end() + len(match.group(2)) + len(match.group(3))
        if first in _NOT_GIVEN:
            # `Contact Fischer`, `User Zhang San`: a cue word is never part of the name; a
            # surname after it is one on its own (the pair after it is found next).
            if second not in _SURNAMES and second not in _PINYIN_SURNAMES:
                continue
            start = end - len(match.group(3))
        elif not (
            _is_pinyin_name(first, second)
            or (first in given and second not in _NOT_SURNAMES)
            or second in _SURNAMES
        ):
            continue
        if not looks_like_identifier(text, start, end):
            spans.append(Finding(start, end, "PERSON", 0.9, "names"))
    return spans


def is_given_name(word: str) -> bool:
    """Whether ``word`` is one of the frequent given names of the gazetteer."""
    return word.lower() in _GIVEN_NAMES


def _is_pinyin_name(first: str, second: str) -> bool:
    """Surname + given name in either order, both in pinyin (`Zhou Lei`, `Xinyi Hu`)."""
    if first in _PINYIN_SURNAMES and _GIVEN_PINYIN.fullmatch(second):
        return True
    return second in _PINYIN_SURNAMES and bool(_GIVEN_PINYIN.fullmatch(first))


# More given names, for the cue and list rules below (not for the pair rule above, which
# keeps its short list): frequent names of European, Latin American and Asian locales
# that are not ordinary English words.
_MORE_GIVEN = frozenset("""
alex alexandra alena alessandro alice alicia allen amelia andre andrea andreas andrei
angelo anja anke anna annika antonio april ariana arne arturo astrid axel barry beatriz
ben berta bjorn bogdan boris bruno camila carla carlos carmen carolina caroline cecilia
cesar chiara christoph claudia clara colin connor cristina curtis dagmar damian dariusz
darius dean derek diego dmitri dmitry dominik eduardo elena elias elif elin elisa eliska
emil emilia enrico enzo erik erika ernesto esther eva evan fabian fatima federico felix
fernando filip finn florian francesca francesco franz frederik freya gabriela georg
gerhard gianluca giorgio giovanni giulia greta gustavo hana hanna hans harald hector
heidi heinz helena helga henrik hugo igor ilse ines ingrid irina isaac isabel ivan
jacqueline jakob jan jana janne jaroslav javier jens jesper jiri joao joaquin johan
johanna jonas jorge jose josef juan julian julius jurgen kai karin karl karolina kasper
katarina katrin kenji klaus kristian kristina lars lasse laszlo leah leon leonardo lena
lina linnea lisa lorenzo lotte luca lucia ludwig luis lukas magnus maja malik manuel
marco marcus marek margit maria mariana marie marina mario marko marta martin mateo
matteo mattias max maximilian mehmet mikael mikkel milan miguel mika mira miriam mohamed
mohammed monika nadia natalia nikolai nikolaj nils nina nora oskar otto pablo paolo
pascal pavel pedro petra philipp pia piotr rafael ramon rasmus raul renata ricardo rikke
roberto rodrigo rolf roman rosa ruben sabine sandro sanna sebastian sergei sergio silvia
simon simone sofia sofie sonja soren stefan stefano sven svetlana tanya tatiana teresa
thea theo thiago thomas tobias tomas tomasz troy ulla ulrich valentina vera veronika
victor viktor vladimir walter wojciech xavier yusuf yuki zoltan zuzana jill lindsey
monika andré kimberly damon kristin pauline oscar shelley erika crystal brandy rachael
seth nicolas aimee robin joanna harry layla michele omar zachary colleen irma tomas
rebecca angela carol lindsay luis jonathan albert jesus valentine hannah cindy emily
janice catherine gregory freeman kristen kristina tracy stacy stacey wendy tammy tina
tonya holly kristy krista marcia marsha monica sonia sylvia vanessa yvonne allison
alison alyssa brianna caitlin cassandra courtney destiny erin gabriella gabrielle haley
hailey jasmine jenna jordan kaitlyn kara kate kathy katie kelsey kendra krystal lacey
leslie lindsay mackenzie mallory marissa melanie meghan miranda molly morgan natasha
paige priscilla rachelle regina renee riley sabrina savannah shannon shawna sierra
stella summer sydney tara taylor tiffany toni tracey valerie whitney yolanda adrian alec
alfred alvin andy angel antonio arnold barry bernard bill brad brent brett calvin
cameron chad clarence clayton clifford clinton cody cole corey craig curtis dale dallas
dalton damian danny darren darryl dean derrick devin dominic don duane dustin dwayne
edgar edwin elliot eddie erik ernest evan felix fernando floyd francis francisco fred
frederick garrett gene glen glenn gordon grant greg guy harvey herbert howard ian isaac
ivan jake jamal jared jay jeff jerome jim jimmy joel jon jonathon jorge julian julio
karl keith ken kurt lance lee leo leon leonard leroy lewis lloyd lonnie luke malcolm
manuel marc marcus mario marshall martin marvin maurice max melvin micheal miguel mike
milton mitchell nathaniel neil nelson norman omar oscar pedro perry phillip preston
rafael ramon randall raymond reginald ricardo ricky rodney roger ron ronnie ross ruben
rudy sam sammy shane shannon shaun shawn sidney stanley stuart ted terrence theodore tim
todd tom tommy tony travis trevor troy vernon victor wade wallace warren wayne wesley
wilbur willard wilson marianne petr aki jane timothy fredrik keiko sheila latoya cynthia
stacy heidi carla jerry amanda tyler jennifer jordan kristy tonya margaret nathaniel
justin
""".split()) - frozenset(
    "bill grant don guy max summer crystal destiny angel sage jay ken ted tim tom lee art "
    "chase".split()
)
_ANY_GIVEN = _GIVEN_NAMES | _MORE_GIVEN

_CAP = r"(?-i:\p{Lu}[\p{Ll}'’\-]+)"
_PARTICLE = r"(?-i:van|von|der|den|de|da|di|del|la|le|du|dos|das|ter|ten|al|el|bin)"
_FULL = rf"{_CAP}(?:[ \t]+(?:{_PARTICLE}[ \t]+){{0,2}}{_CAP}){{0,2}}"
# Titles: the title and the name after it are one person (`Mr. Alexander Galarneau`).
_TITLE_WORDS = r"mr|mrs|ms|miss|mx|dr|prof|sir|madam|mme|mlle|herr|frau|sr|sra"
_TITLED = regex.compile(
    rf"(?<![\w])(?i:{_TITLE_WORDS})\.?[ \t]+{_FULL}"
    # (written in lower case, only with the period: `ms` alone is milliseconds)
    r"|(?<![\w])(?:mr|mrs|ms|dr|prof)\.[ \t]+\p{Ll}{2,}(?:[ \t]+\p{Ll}{2,})?"
    r"(?=[ \t]+(?:is|was|has|and|said)\b|[,.!?]|$)"
)
# After `my name is` a name may be written in lower case (`my name is janice beneventi`).
_NAME_IS = regex.compile(
    r"(?<![\w])(?i:my name is|name:|call(?:s|ed)? me|named (?:him|her))[ \t]+"
    r"(?P<name>\p{L}[\p{L}'’\-]+(?:[ \t]+\p{L}[\p{L}'’\-]+)?)(?=[ \t]*(?:[.,!?\n]|$))"
)
# Phrases after which the next capitalized word(s) are a person's name. Strong cues
# say so by themselves; after a weak cue (`tell`, `given`, `to:`) the first word must be a
# known given name (`forwarded to Kafka` is not a person).
_STRONG_CUES = (
    r"my name is|his name is|her name is|name is|name:|call(?:s|ed)? me|named (?:him|her)|"
    r"maiden name is|dear|signed|sincerely|regards|guardian|starring|directed by|"
    r"produced by|written by|founders?:|(?:co-)?founded by|says|said|replied|wrote"
)
_WEAK_CUES = (
    r"named|call(?:ed)? (?:him|her)|i am|i'm|this is|speak to|speak with|talk to|ask for|"
    r"ask|tell|told|shouted at|given|hi|hello|hey|thanks|thank you|cheers|add|user:|"
    r"customer:|agent:|contact:|recipient:|from:|to:|cc:|attn:?|approved by|assigned to|"
    r"reported by|requested by|handled by|escalated to|forwarded to|transferred to|"
    r"reviewed by|created by|updated by|owner:|why is|what is|and|with"
)
# Found from the name backwards: each capitalized word after a space (few per text) is
# checked for a cue in the 40 characters before it, lower-cased, with C-level `re`; then
# the name shape with `regex` (``\p{Lu}``). One pass of a 70-word alternation over every
# free-text value cost more than everything else here together.
_CAPITAL_AFTER_SPACE = re.compile(r"(?<=[ \t])[^\W\d_a-z]")
_CUE_END = re.compile(rf"(?<![\w])(?:(?P<strong>{_STRONG_CUES})|{_WEAK_CUES})[ \t]+\Z")
_FULL_AT = regex.compile(_FULL)


class _Cued:
    """A cue and the capitalized name after it."""

    __slots__ = ("_end", "_start", "strong")

    def __init__(self, strong: bool, start: int, end: int) -> None:
        self.strong = strong
        self._start = start
        self._end = end

    def span(self, _group: str = "name") -> tuple[int, int]:
        return self._start, self._end

    def end(self, _group: str = "name") -> int:
        return self._end


def _cued(text: str) -> list[_Cued]:
    out = []
    lowered: str | None = None
    last_end = -1
    for m in _CAPITAL_AFTER_SPACE.finditer(text):
        pos = m.start()
        if pos < last_end or not text[pos].isupper():
            continue
        if lowered is None:
            lowered = text.lower()
        cue = _CUE_END.search(lowered, max(0, pos - 40), pos)
        if cue is None:
            continue
        name = _FULL_AT.match(text, pos)
        if name is not None:
            out.append(_Cued(cue.group("strong") is not None, pos, name.end()))
            last_end = name.end()
    return out


# A comma list of capitalized words (`Victor, Andrew, Brandon and April`): when most of
# them are known given names, all of them are names.
_LIST = regex.compile(
    rf"(?<![\w])(?:{_CAP}(?:[ \t]+{_CAP})?,[ \t]+){{2,}}"
    rf"(?:{_CAP}(?:[ \t]+{_CAP})?,?[ \t]+(?:and|&)[ \t]+)?{_CAP}(?:[ \t]+{_CAP})?"
)
# Words that a cue may be followed by that are not names.
_NOT_NAME_WORDS = frozenset("""
the a an this that it there here he she they we you i my your his her our their its
not now also just very so too all any some no yes ok okay please thanks thank sorry
error warning info debug failed success done null none true false unknown user admin
root system service server client api app order account payment request response
monday tuesday wednesday thursday friday saturday sunday january february march april may
june july august september october november december today tomorrow yesterday team
support customer sir madam everyone all guys folks hello hi hey in out up down on off
into over via per welcome goodbye bye dear team staff admins users members client
""".split())


# (Searched in the lower-cased text: case-insensitive alternations are slow in `re`.)
_TITLE_GATE = re.compile(rf"(?<![a-z])(?:{_TITLE_WORDS})(?![a-z])")
_LETTER = re.compile(r"[^\W\d_]")


def find_cued_names(text: str) -> list[Finding]:
    """Names that a cue or a title announces (`My name is Monika`, `Mr. Lund`,
    `starring Berta`) and lists of given names; free-text fields only (score 0.9)."""

    spans: list[tuple[int, int]] = []
    has_upper = text != text.lower()
    bits = _gate_bits(text)  # (a skipped step is one that cannot find anything here)
    # (C-level lower: ~0.1 us)
    if bits & _BIT["title"] and _TITLE_GATE.search(text.lower()) is not None:
        spans.extend(m.span() for m in _TITLED.finditer(text))
    cued = _cued(text) if has_upper and bits & _BIT["cued"] else []
    for m in cued:
        start, end = m.span("name")
        words = text[start:end].split()
        while words and words[-1].lower() in _NOT_NAME_WORDS:
            words.pop()
        if not words or words[0].lower() in _NOT_NAME_WORDS:
            continue
        if not m.strong and words[0].lower() not in _ANY_GIVEN:
            continue
        end = start + len(" ".join(words)) if len(words) > 1 else start + len(words[0])
        if not looks_like_identifier(text, start, end):
            spans.append((start, end))
    lowered = text.lower()
    if "name" in lowered or "call" in lowered:
        for said in _NAME_IS.finditer(text):
            if said.group("name").split()[0].lower() not in _NOT_NAME_WORDS:
                spans.append(said.span("name"))
    for m in cued:
        if not m.strong:
            continue
        # A list after a strong cue: `founders: Novosel, Robinson and Holmes`.
        tail = _CUE_LIST.match(text, m.end("name"))
        if tail is not None:
            for item in regex.finditer(rf"{_CAP}(?:[ \t]+{_CAP})?", tail.group()):
                spans.append((tail.start() + item.start(), tail.start() + item.end()))
    if not has_upper:
        return [Finding(s, e, "PERSON", 0.9, "names") for s, e in spans]
    for listed in _LIST.finditer(text) if bits & _BIT["list"] else ():
        items = [w for w in regex.split(r",[ \t]*|[ \t]+(?:and|&)[ \t]+", listed.group()) if w]
        firsts = [w.split()[0].lower() for w in items]
        if sum(f in _ANY_GIVEN for f in firsts) * 2 > len(firsts):
            for item in regex.finditer(rf"{_CAP}(?:[ \t]+{_CAP})?", listed.group()):
                if item.group() not in ("And",):
                    spans.append((listed.start() + item.start(), listed.start() + item.end()))
    # A known given name standing alone at the start of a line or before a colon or
    # comma of address (`Brodie: "Who are you?"`, `André, can I`).
    for vocative in _VOCATIVE.finditer(text) if bits & _BIT["vocative"] else ():
        if vocative.group("name").lower() in _ANY_GIVEN:
            spans.append(vocative.span("name"))
    return [Finding(s, e, "PERSON", 0.9, "names") for s, e in spans]


_CUE_LIST = regex.compile(
    rf"(?:,[ \t]+{_CAP}(?:[ \t]+{_CAP})?)*,?[ \t]+(?:and|&)[ \t]+{_CAP}(?:[ \t]+{_CAP})?"
    rf"|(?:,[ \t]+{_CAP}(?:[ \t]+{_CAP})?)+"
)
_VOCATIVE_VERBS = (
    r"is|was|has|had|said|says|shouted|asked|told|named|spent|lives|works|wrote|called"
)
_VOCATIVE = regex.compile(
    rf"(?:^|(?<=[\n>\"“]))(?P<name>{_CAP})(?=[:,][ \t\"\\])"
    rf"|(?<![\w])(?P<name>{_CAP})(?=[ \t]+(?:{_VOCATIVE_VERBS})[ \t])"
)


_AFTER_NAME = regex.compile(rf"[ \t]+(?:and|&|to)[ \t]+(?P<name>{_FULL})(?![\w'’]|[ \t]+\p{{Lu}})")
_BEFORE_NAME = regex.compile(rf"(?<![\w'’][ \t]?)(?P<name>{_FULL})[ \t]+(?:and|&)[ \t]+$")


def coordinated_names(text: str, findings: list[Finding]) -> list[Finding]:
    """Capitalized names joined to a found name (`Schiavone and Livingston`, `said Heidi
    to Stacy`): people are listed with people. Free-text fields only (score 0.85)."""

    out: list[Finding] = []
    for f in findings:
        # From the gazetteer and cue passes only: NER's guesses are not spread.
        if f.entity != "PERSON" or f.recognizer != "names":
            continue
        m = _AFTER_NAME.match(text, f.end)
        if m is not None and m.group("name").split()[0].lower() not in _NOT_NAME_WORDS:
            s, e = m.span("name")
            if not looks_like_identifier(text, s, e):
                out.append(Finding(s, e, "PERSON", 0.85, "names"))
        m = _BEFORE_NAME.search(text, max(0, f.start - 40), f.start)
        if m is not None and m.group("name").split()[0].lower() not in _NOT_NAME_WORDS:
            s, e = m.span("name")
            # Only the last capitalized run before the joiner (not `The Davis`).
            if s == 0 or not text[s - 1].isalpha():
                if not looks_like_identifier(text, s, e):
                    out.append(Finding(s, e, "PERSON", 0.85, "names"))
    return out


# Words that follow a given name in lower-case prose and are not a surname.
_LOWER_STOP = frozenset("""
is was has had and or but not the to of in on at for from with by as if then than so
will would can could should shall may might must do does did just also very too he she
they we you it his her their our your its this that these those who whom which what
when where why how said says told asked had given spent shouted lives works wrote called
""".split())
_LOWER_WORD = regex.compile(
    r"(?<![\w'’\-@./])(\p{Ll}[\p{Ll}'’\-]+)(?=(?:[ \t]+(\p{Ll}[\p{Ll}'’\-]{2,})(?![\w@./]))?)"
)


def find_lowercase_names(text: str) -> list[Finding]:
    """Given names (and the surname after them) in text written all in lower case
    (`tina roelink`, `you can tell hanan was`): chat and ticket text typed without
    capitals. Only when the text has no capital letter at all (score 0.85)."""

    if text != text.lower() or _LETTER.search(text) is None:
        return []
    if any(ch in text for ch in "={}[]<>|\\_"):
        # Code, key=value pairs and paths: a log line, not prose.
        return []
    out = []
    for m in _LOWER_WORD.finditer(text):
        first = m.group(1)
        if first not in _ANY_GIVEN:
            continue
        end = m.end(1)
        second = m.group(2)
        if second and second not in _LOWER_STOP and second not in _NOT_SURNAMES:
            end = m.end(2)
        out.append(Finding(m.start(1), end, "PERSON", 0.85, "names"))
    return out


# ------------------------------------------------------------------ native pre-check
# Most free-text values (`Order ORD2024 state PAID -> SHIPPED in 34135us`) hold nothing
# any step above could take, yet each step scans them with its own pattern. One pass of
# small Rust `regex` sets (pipeline.detection._native.PatternSet) says which steps can find
# something; the others are skipped. Each bit's pattern is a *necessary condition* of
# its step: every text in which the step finds a span contains a match of it. They are
# the steps' own patterns with lookarounds replaced by the character they require (or
# dropped), written with ASCII classes, and the bits are used on ASCII texts only: there
# `\w`, `\p{Lu}`, `\p{Ll}`, `[^\W\d_]`, `str.isupper` and `str.lower` (same length, so
# positions in the lower-cased text are positions in the text) all mean the same thing
# in `re`, `regex` and Rust, and case-insensitive matching folds ASCII letters only. A
# text with any other character gets every bit (nothing is skipped).
# tests/detectors/test_freetext_gate.py runs every step with and without the bits.

_ASCII_CAP = r"[A-Z][a-z'\-]+"  # _CAP on ASCII text (`’` is not ASCII)
_NOT_WORD_BEFORE = r"(?:^|[^A-Za-z0-9_])"  # (?<![\w]) on ASCII text
# Bit: the step it guards, and why its pattern is necessary.
_GATE_PATTERNS = (
    # _PAIR: a capitalized word, a space or tab, a capitalized word.
    ("pair", r"[A-Z][a-z]+[ \t][A-Z][a-z]"),
    # _TITLED: both alternatives begin `(?<![\w])` + a title word + `\.?[ \t]`
    # (the second one's titles are among the first one's).
    ("title", rf"{_NOT_WORD_BEFORE}(?i:{_TITLE_WORDS})\.?[ \t]"),
    # _cued: a capital (A-Z) right after `[ \t]` with _CUE_END matching in the lower-cased
    # text just before it: a cue after a non-word character, spaces or tabs, the capital.
    # (Python's lookbehind sees before the `pos` of a search, so the window does not
    # widen what `(?<![\w])` accepts.)
    ("cued", rf"{_NOT_WORD_BEFORE}(?i:{_STRONG_CUES}|{_WEAK_CUES})[ \t]+[A-Z]"),
    # _LIST: at least two `CAP( CAP)?,[ \t]+` then a capitalized word.
    ("list", rf"(?:{_ASCII_CAP}(?:[ \t]+{_ASCII_CAP})?,[ \t]+){{2}}[A-Z]"),
    # _VOCATIVE: at the start or after a newline, `>` or `"`, a capitalized word and
    # `[:,][ \t"\\]`; or a capitalized word before spaces, a verb and a space or tab.
    (
        "vocative",
        rf"(?:^|[\n>\"]){_ASCII_CAP}[:,][ \t\"\\]"
        rf"|{_ASCII_CAP}[ \t]+(?:{_VOCATIVE_VERBS})[ \t]",
    ),
)
_BIT = {name: 1 << i for i, (name, _) in enumerate(_GATE_PATTERNS)}
_ALL_BITS = (1 << len(_GATE_PATTERNS)) - 1
_gate: _native.PatternSet | None = None
_gate_failed = False
# The last text's bits: the scanner hands the same string to find_names and
# find_cued_names (an identity check; the reference keeps the string alive).
_last_bits: tuple[str, int] = ("", 0)


def _gate_bits(text: str) -> int:
    """The bits of the steps that can find something in ``text`` (all for non-ASCII)."""
    global _gate, _gate_failed, _last_bits
    last = _last_bits
    if last[0] is text:
        return last[1]
    if not text.isascii():
        return _ALL_BITS
    if _gate is None:
        if _gate_failed:
            return _ALL_BITS
        try:
            _gate = _native.PatternSet(
                [p for _, p in _GATE_PATTERNS], list(range(len(_GATE_PATTERNS)))
            )
        except ValueError:  # (a pattern the Rust crate refuses: run every step)
            _gate_failed = True
            return _ALL_BITS
    bits: int = _gate.hits(text)
    _last_bits = (text, bits)
    return bits
