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
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipeline.scanner import Finding

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


def find_names(text: str) -> list[Finding]:
    """Return the person names the gazetteer recognizes in ``text`` (score 0.9: above
    NER's 0.85, as the model often takes only a part, `Lin` of `Lin Lei`)."""
    from pipeline.scanner import Finding

    spans = []
    for match in _PAIR.finditer(text):
        first, second = match.group(1).lower(), match.group(3).lower()
        start = match.start()
        end = match.end() + len(match.group(2)) + len(match.group(3))
        if second in _SURNAMES and first in _NOT_GIVEN:
            # `Contact Fischer`: the surname alone.
            start = end - len(match.group(3))
        elif not (
            _is_pinyin_name(first, second)
            or (first in _GIVEN_NAMES and second not in _NOT_SURNAMES)
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
