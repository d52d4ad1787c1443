"""Chinese person names in running Han text: word segmentation, a surname list and cues.

The English spaCy model and the surname-shape rule of the person recognizer do not see a
name inside a Chinese sentence (`订单已由张伟签收`): there are no spaces and no capitals.
This pass segments the text with jieba (``rjieba``, the Rust port: ~10 us for a short
message, its dictionary and HMM for unknown words are in the wheel, nothing is
downloaded) and takes a word as a name when

* jieba tags it a person name (``nr``; ``nrt``, transliterated, from three characters)
  and it begins with a common surname, or is followed by an honorific or preceded by a
  cue (`张先生`, `我叫赵新民`, `联系人：王芳`, `@杨壮:`), or
* a surname character that jieba split off is followed by a one- or two-character word
  that forms a name with it (`赵` + `新民`), with the same evidence, or
* a surname (plus up to two characters) stands right before an honorific (`张先生`,
  `李女士`, `王老师`), whatever the tags say.

Words jieba tags ``nr`` that are ordinary words (`祝福`, `宝贝`, `阳光`) are what costs
precision; a name needs a surname or a cue, and a short list of such words is refused.

Place names (``ns``) are never names here; addresses are the address recognizer's.

It runs only on free-text fields (``Scanner.scan(..., ner=True)``) and only on texts with
at least two Han characters; with NER on and the Chinese model installed
(:mod:`pipeline.detection.ner_zh`), the model runs instead (measured on the Weibo train split: the
rules beside the model added as many false names as true ones).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from pipeline.detection.findings import Finding

__all__ = ["available", "find_names_zh", "jieba_word_tag"]

# The ~150 most frequent Chinese surnames (one character), covering about 90% of people.
SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝"
    "龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞"
    "左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕"
    "屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧"
    "闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝陳張劉黃趙吳孫馬鄭謝韓"
    "馮鄧彭葉魏盧蔣蕭許錢韋鍾譚陸"
)
# Two-character surnames.
_DOUBLE_SURNAMES = ("欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "慕容", "令狐", "夏侯", "尉迟")

# Titles and kinship words right after a name (`张先生`, `宋茜姐姐`). Not the one-character
# titles (`王总`, `李工`): `总是`, `提高工作` begin with them as often.
_HONORIFICS = (
    "先生", "女士", "小姐", "老师", "同学", "师傅", "经理", "总监", "主任", "医生", "大夫",
    "护士", "律师", "教授", "博士", "阿姨", "叔叔", "大爷", "大妈", "大哥", "大姐", "姐姐",
    "哥哥", "老板", "总监", "局长", "处长", "科长", "部长", "书记", "校长", "院长",
    "警官", "师兄", "师姐", "学长", "学姐", "女儿", "儿子", "太太", "夫人", "先森",
)
_HONORIFIC_RE = "|".join(sorted(_HONORIFICS, key=len, reverse=True))
# Words right before a name (`我叫赵新民`, `联系人：王芳`, `@杨壮:`, `回复杨素晗`).
_CUES = (
    "我叫", "名叫", "叫做", "我是", "姓名", "名字", "联系人", "收货人", "收件人", "寄件人",
    "签收人", "客户", "用户", "顾客", "乘客", "患者", "病人", "学生", "员工", "司机",
    "骑手", "快递员", "客服", "坐席", "回复", "感谢", "谢谢", "致", "转给", "交给", "联系",
    "致电", "来电", "呼叫", "通知", "@", "持卡人", "户名", "开户人", "申请人", "投保人",
    "被保险人", "受益人", "法人", "负责人", "经办人", "操作人", "审核人", "处理人",
)
_CUE_RE = re.compile(
    "(?:" + "|".join(re.escape(c) for c in sorted(_CUES, key=len, reverse=True)) + r")[:：\s]*$"
)

# Ordinary words that jieba's dictionary also tags as names (`祝福` blessing, `宝贝`
# baby, `阳光` sunshine, `明白` understand): refused even with a surname-like first
# character. Kept short on purpose: the surname-or-cue rule does most of the work.
_NOT_NAMES = frozenset("""
祝福 谢谢 小姐 宝贝 宝宝 阳光 明白 智慧 熊猫 和尚 道德 文明 宁静 温馨 明星 关怀 老公 老婆
博文 童鞋 安全 安静 高清 华丽 高升 洪水 黑屏 麻木 刘海 盛夏 友谊 容颜 辟谣 王子 安卓 海尔
美的 西门子 爱立信 香奈儿 希尔顿 奥特曼 金玉 白羊 白羊座 双子座 蒲公英 胡萝卜 红辣椒 黑胡椒
黑木耳 冰淇淋 华夫饼 布丁 章鱼 丹参 老干妈 易经 加厚 段时间 英文名 小女儿 祝您 安全带 安全感
安全岛 大力支持 努力奋斗 何德何能 何以堪 林林总总 向前走 真是太 太棒了 今天下午 考驾照 封信
母亲节 冷笑 白白 蔚蓝 乐天 白云山 齐全 方便 成功 金额 余额 任务 程序 方法 高级 武汉 常见 明天
江湖 时间 连接 司机 师傅 车主 石头 温度 温暖 韩国 金融 黄金 包裹 宋体 秦岭 周末 周年 周边
周期 文件 文字 文本 安装 安排 万一 万元 于是 于是乎 向上 向下 江苏 江西 江南 黄色 黄河 白色
白天 白领 石油 甘肃 程度 华为 华南 华北 华东 华西 华中 钱包 钱款 关于 关键 关注 关闭 常用 康复
""".split())

# A name is 2-4 Han characters (3 with a double surname, or 4 for a transliteration);
# jieba's words are checked against this first.
_HAN = re.compile(r"[\u4e00-\u9fff]+")
# jieba's tags of a word after a surname that cannot be a given name: a place, a
# non-word, a numeral, particles, a preposition, a conjunction, a pronoun, an adverb.
_NOT_GIVEN_TAGS = frozenset(("ns", "x", "m", "uj", "ul", "p", "c", "r", "d", "u"))
_NAME_WORD = re.compile(r"[\u4e00-\u9fff]{2,4}")

# `@` + a handle of 2-4 Han characters and a colon (a reply: `//@杨壮:`); not an email
# address (no word character before the `@`). Other handles (`@美丽说活动`) are as often
# brands and accounts as people.
_MENTION = re.compile(r"(?<![\w.])@([\u4e00-\u9fff]{2,4})(?=[:：])")

_HONORIFIC_AT = re.compile(rf"(?<=[\u4e00-\u9fff])(?:{_HONORIFIC_RE})")
# Cues after which a surname begins a name (the short, ambiguous ones, `致` `联系`, are
# left to the segmenter).
_CUE_AT = re.compile(
    r"(?:我叫|名叫|叫做|姓名|联系人|收货人|收件人|寄件人|签收人|客户|顾客|乘客|患者|持卡人|户名"
    r"|开户人|申请人|投保人|被保险人|受益人|负责人|经办人|操作人|审核人|处理人)[:：\s]*"
)
# Characters that end a given name after a cue: verbs and particles that follow names
# (`王芳来电`, `张伟已签收`, `李娜的订单`).
_STOP_CHARS = frozenset(
    "来去在的了说是已到和与于从对向给把被让将要会能可也都还就又再因为称表示反投申退签取收"
)

_jieba_tag: Callable[[str], list[tuple[str, str]]] | None = None
_jieba_failed = False


def available() -> bool:
    """Return whether the segmenter (``rjieba``) is installed."""
    return _tagger() is not None


def _tagger() -> Callable[[str], list[tuple[str, str]]] | None:
    global _jieba_tag, _jieba_failed
    if _jieba_tag is None and not _jieba_failed:
        try:
            import rjieba  # Rust jieba: dictionary and HMM in the wheel, no download

            _jieba_tag = rjieba.tag
        except ImportError:
            _jieba_failed = True
    return _jieba_tag


def jieba_word_tag(word: str) -> str | None:
    """jieba's tag of ``word`` when its dictionary holds it as one word, else None
    (also None without ``rjieba``)."""
    tag = _tagger()
    if tag is None:
        return None
    import rjieba

    tagged = tag(word)
    if len(tagged) != 1 or not rjieba.has_word(word):
        return None
    return str(tagged[0][1])


def _has_surname(word: str) -> bool:
    return word[0] in SURNAMES or word.startswith(_DOUBLE_SURNAMES)


# Surnames that are also everyday characters (`连着`, `成后`, `时`, `向前`, `米汤`, `牛腩`,
# `熊孩子`): a word jieba tags as a name with one of them first needs a cue or an
# honorific as well.
_COMMON_CHAR_SURNAMES = frozenset(
    "连成时司于和万向全应车项米牛熊蓝古甘麦童欧明商师季单常康温易乔齐关包宁"
)


def _plain_surname(word: str) -> bool:
    return _has_surname(word) and word[0] not in _COMMON_CHAR_SURNAMES


def _cue_before(text: str, start: int) -> bool:
    return _CUE_RE.search(text, max(0, start - 6), start) is not None


def _honorific_after(text: str, end: int) -> bool:
    return text.startswith(_HONORIFICS, end)


def find_names_zh(text: str) -> list[Finding]:
    """Return the Chinese person names found in ``text`` (score 0.85, recognizer
    ``names_zh``); empty when the segmenter is missing or the text has no Han run."""

    tag = _tagger()
    if tag is None or _HAN.search(text) is None:
        return []
    words = tag(text)
    spans: list[tuple[int, int]] = []
    pos = 0
    offsets = []
    for word, pos_tag in words:
        start = text.find(word, pos)
        if start < 0:  # jieba normalizes nothing, but be safe
            start = pos
        end = start + len(word)
        offsets.append((start, end, word, pos_tag))
        pos = end
    n = len(offsets)
    for i, (start, end, word, pos_tag) in enumerate(offsets):
        if pos_tag not in ("nr", "nrt", "nrfg"):
            continue
        cand_end = end
        if len(word) == 1:
            # A surname jieba split off: `赵` + `新民` (the given name as its own word).
            if word not in SURNAMES or i + 1 >= n:
                continue
            nxt = offsets[i + 1]
            if not (1 <= len(nxt[2]) <= 2 and _HAN.fullmatch(nxt[2])) or nxt[3] in _NOT_GIVEN_TAGS:
                # (Unless an honorific follows the surname: `张先生`.)
                if _honorific_after(text, end):
                    spans.append((start, end))
                continue
            cand_end = nxt[1]
            word = text[start:cand_end]
        if not _NAME_WORD.fullmatch(word) or word in _NOT_NAMES:
            continue
        evidence = _cue_before(text, start) or _honorific_after(text, cand_end)
        if pos_tag == "nrt":
            ok = len(word) >= 3 or evidence
        else:
            ok = _plain_surname(word) and len(word) <= 3 or evidence
        if ok:
            spans.append((start, cand_end))
    # A mention (`//@杨壮:`, `@宋茜 `) names an account, mostly a person's, by its
    # nickname: the handle is personal data in a log as much as a name is.
    for m in _MENTION.finditer(text):
        spans.append(m.span(1))
    # Surname + up to two characters before an honorific, and a surname right after a
    # cue, whatever the segmenter said (its HMM glues `客户王` and `请张`).
    for m in _HONORIFIC_AT.finditer(text):
        span = _name_before(text, m.start())
        if span is not None:
            spans.append(span)
    for m in _CUE_AT.finditer(text):
        span = _name_after(text, m.end())
        if span is not None:
            spans.append(span)
    return [Finding(s, e, "PERSON", 0.85, "names_zh") for s, e in _merge(spans)]


def _name_before(text: str, end: int) -> tuple[int, int] | None:
    """The surname (+ given name) that ends at ``end``, right before an honorific."""
    for size in (4, 3, 2):
        start = end - size
        if start >= 0 and text[start : start + 2] in _DOUBLE_SURNAMES:
            if _HAN.fullmatch(text[start:end]):
                return start, end
    for size in (3, 2, 1):
        start = end - size
        if start < 0 or not _HAN.fullmatch(text[start:end]):
            continue
        if text[start] in SURNAMES and not _CUE_RE.search(text, max(0, start - 6), start + 1):
            return start, end
    return None


def _name_after(text: str, start: int) -> tuple[int, int] | None:
    """A surname + one or two characters at ``start`` (right after a cue)."""
    if start >= len(text):
        return None
    size = 2 if text.startswith(_DOUBLE_SURNAMES, start) else 1
    if size == 1 and text[start] not in SURNAMES:
        return None
    end = start + size
    for _ in range(2):
        if end < len(text) and _HAN.fullmatch(text[end]) and text[end] not in _STOP_CHARS:
            end += 1
        else:
            break
    if end - start < 2 or text[start:end] in _NOT_NAMES or _honorific_after(text, start + size):
        return None
    return start, end


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for s, e in sorted(spans):
        if out and s < out[-1][1]:
            out[-1] = (out[-1][0], max(e, out[-1][1]))
        else:
            out.append((s, e))
    return out
