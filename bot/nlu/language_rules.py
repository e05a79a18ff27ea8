"""Which language a message shows: ``en``, ``zh``, or none (the conversation keeps its own).

Contract:

* ``detect_language(text)`` is ``"en"``, ``"zh"`` or ``None``.  ``None`` for
  what shows no language: values only (digits, ID and passport numbers, login
  names, phones, credit codes, URLs, e-mail addresses), a button payload
  (``/intent``), emoji, pinyin, a lone loan word ("ok", "hello"), acronyms
  Chinese users write ("ID", "SMS", "PDF").
* An explicit switch wins ("English please", "说中文", "Chinese please", "英文"):
  ``switch_requested(text)`` is that language, else ``None``.  The switch
  action (actions/language.py) uses ``requested_language(text)``: the switch,
  or the first language a longer request names ("能说英语吗").
* A mixed message is English when the English words carry the sentence
  ("实名认证 failed with my passport", "it says 实名认证失败 what do i do"),
  Chinese when they are loan words in a Chinese sentence ("我的password忘了",
  "reset 不了").  The rule: at least ``MIN_ENGLISH_WORDS`` English words, and
  more of them than the Chinese "words": Han characters / 2.5, each Chinese
  particle such as 我 的 了 吗 counting once more (they frame a Chinese
  sentence), and each quoting word such as 提示 or 报错 twice more (what
  follows is a pasted English error: "登录时提示 user not found" is Chinese).
* ``bot.nlu.language_detector.LanguageDetector`` (config.yml) turns the result
  into the ``language`` entity; this module imports no Rasa, so actions use it too.

No PyPI detector was used: trained on long texts, they misread short mixed
messages and pinyin.  The measured figures are in docs/english.md
(``python -m tests.nlu.language_detection`` prints them).
"""

from __future__ import annotations

import re
import unicodedata
from typing import List, NamedTuple, Optional

from bot.nlu.values import CREDIT_CODE, ID_NUMBER, LOGIN_NAME, PHONE, find_values
from bot.nlu.word_lists import is_listed, word_lists

# A mixed message needs this many English words to be English: one or two
# English words in Chinese text are loan words ("reset 不了").
MIN_ENGLISH_WORDS = 3
# Han characters per Chinese "word", in the comparison with the English words.
# 2 (a typical word) misread short English questions about long pasted labels
# ("the page says 证件号码已被注册"); 2.5 to 3 did best on the lists
# measured (docs/english.md), 2.5 the more cautious for Chinese.
HAN_CHARACTERS_PER_WORD = 2.5

# Explicit requests, matched against the whole message (lower case, NFKC,
# punctuation dropped).  "I can't read Chinese" is no switch; it is English anyway.
_EN_ASK = r"(?:(?:can|could|would|do) you |can we |i prefer |i want |let'?s )?(?:please )?"
_EN_VERB = r"(?:(?:speak|use|reply in|answer in|write in|talk in|switch to|change to|back to|in|to) )?"
_EN_TAIL = r"(?: version| language| mode)?(?: please)?"
_ZH_ASK = r"(?:请|能|可以|还是)?(?:用|说|讲|切换到?|切换成|换成|换到|换回|改成|改为|改用|切回)?"
_ZH_TAIL = r"(?:吧|回答|回复|交流|服务|模式|版)?(?:吗|吧|好吗)?"
_SWITCHES = {
    "en": re.compile(rf"{_EN_ASK}{_EN_VERB}english{_EN_TAIL}|{_ZH_ASK}(?:英文|英语){_ZH_TAIL}"),
    "zh": re.compile(
        rf"{_EN_ASK}{_EN_VERB}(?:chinese|mandarin){_EN_TAIL}|{_ZH_ASK}(?:中文|汉语|普通话|简体中文){_ZH_TAIL}"
    ),
}
# Names of the languages, for a request worded otherwise ("English, please, my
# Chinese is not good"): the first named is the one asked for.
_LANGUAGE_NAMES = re.compile(r"(english|英文|英语)|(chinese|mandarin|中文|汉语|普通话)")
_PUNCTUATION = re.compile(r"[^\w\s]+")
_PAYLOAD = re.compile(r"/\w[\w/]*(?:\{.*\})?", re.DOTALL)
_URL_OR_EMAIL = re.compile(r"(?:https?://|www\.)\S+|\S+@\S+\.\S+", re.IGNORECASE)
# Runs of Latin letters, digits and what login names and numbers are made of;
# a run with anything but letters (and an apostrophe) is a value, not a word.
_LATIN_RUN = re.compile(r"[A-Za-z0-9_.\-'’]+")
_WORD = re.compile(r"[A-Za-z]+(?:['’][A-Za-z]+)?")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# Characters that frame a Chinese sentence: pronouns, particles, question words.
_ZH_PARTICLES = frozenset("我你您他她的了吗呢吧啊呀么怎什哪请要能没还是在就也都把被给该")
# Words a Chinese user puts before a pasted English message or error.
_ZH_QUOTING = re.compile(r"提示|显示|报错|弹出|出现|写着|说")
QUOTING_WEIGHT = 2
# Toneless pinyin syllables (from pypinyin's table; m, n, ng and hm left out:
# interjections that would make any consonant pair "pinyin").
_PINYIN = frozenset(
    """a ai an ang ao ba bai ban bang bao bei ben beng bi bian biao bie bin bing bo bu ca cai can cang cao
    ce cen ceng cha chai chan chang chao che chen cheng chi chong chou chu chua chuai chuan chuang chui
    chun chuo ci cong cou cu cuan cui cun cuo da dai dan dang dao de den deng di dian diao die ding diu
    dong dou du duan dui dun duo e ei en eng er fa fan fang fei fen feng fiao fo fou fu ga gai gan gang
    gao ge gei gen geng gong gou gu gua guai guan guang gui gun guo ha hai han hang hao he hei hen heng
    hong hou hu hua huai huan huang hui hun huo ji jia jian jiang jiao jie jin jing jiong jiu ju juan jue
    jun ka kai kan kang kao ke ken keng kong kou ku kua kuai kuan kuang kui kun kuo la lai lan lang lao
    le lei leng li lia lian liang liao lie lin ling liu lo long lou lu luan lun luo lv lve ma mai man
    mang mao me mei men meng mi mian miao mie min ming miu mo mou mu na nai nan nang nao ne nei nen neng
    ni nian niang niao nie nin ning niu nong nou nu nuan nun nuo nv nve o ou pa pai pan pang pao pei pen
    peng pi pian piao pie pin ping po pou pu qi qia qian qiang qiao qie qin qing qiong qiu qu quan que
    qun ran rang rao re ren reng ri rong rou ru rua ruan rui run ruo sa sai san sang sao se sen seng sha
    shai shan shang shao she shen sheng shi shou shu shua shuai shuan shuang shui shun shuo si song sou
    su suan sui sun suo ta tai tan tang tao te teng ti tian tiao tie ting tong tou tu tuan tui tun tuo
    wa wai wan wang wei wen weng wo wu xi xia xian xiang xiao xie xin xing xiong xiu xu xuan xue xun ya
    yan yang yao ye yi yin ying yo yong you yu yuan yue yun za zai zan zang zao ze zei zen zeng zha zhai
    zhan zhang zhao zhe zhen zheng zhi zhong zhou zhu zhua zhuai zhuan zhuang zhui zhun zhuo zi zong zou
    zu zuan zui zun zuo""".split()
)
# Values in a message are no words of any language.
_VALUE_KINDS = frozenset({LOGIN_NAME, ID_NUMBER, PHONE, CREDIT_CODE})
_LONGEST_SYLLABLE = max(len(syllable) for syllable in _PINYIN)


class Evidence(NamedTuple):
    """What a message holds of each language, once values are taken out."""

    english: int  # English words (listed, or unlisted and no pinyin)
    listed: int  # of them, words of the English list
    pinyin: int  # Latin words that spell pinyin and are no listed English word
    han: int  # Han characters
    particles: int  # of them, the particles that frame a Chinese sentence
    quoting: int  # Chinese words that introduce a quotation (提示, 报错 ...)
    words: List[str]  # the Latin words that counted as English, lower case


def _plain(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def switch_requested(text: Optional[str]) -> Optional[str]:
    """The language an explicit request asks for ("English please", "说中文"), or None."""
    phrase = " ".join(_PUNCTUATION.sub(" ", _plain(text or "")).split())
    for language, pattern in _SWITCHES.items():
        if pattern.fullmatch(phrase):
            return language
    return None


def requested_language(text: Optional[str]) -> Optional[str]:
    """The language a message that asks for one wants: an explicit switch, else the first language it names."""
    switched = switch_requested(text)
    if switched:
        return switched
    named = _LANGUAGE_NAMES.search(_plain(text or ""))
    if named is None:
        return None
    return "en" if named.group(1) else "zh"


def _is_pinyin(word: str) -> bool:
    """True when ``word`` splits into pinyin syllables ("mima", "wangjimima")."""
    reachable = [True] + [False] * len(word)
    for end in range(1, len(word) + 1):
        for length in range(1, min(_LONGEST_SYLLABLE, end) + 1):
            if reachable[end - length] and word[end - length : end] in _PINYIN:
                reachable[end] = True
                break
    return reachable[len(word)]


def _without_values(text: str) -> str:
    """``text`` (NFKC) with login names, ID, phone and credit-code numbers, URLs and e-mails blanked."""
    chars = list(text)
    for value in find_values(text):
        if value.kind not in _VALUE_KINDS:
            continue  # document types and systems are words ("passport"), not values
        chars[value.start : value.end] = " " * (value.end - value.start)
    return _URL_OR_EMAIL.sub(" ", "".join(chars))


def evidence(text: str) -> Evidence:
    """Counts of each language's words in ``text``, values, acronyms and loan words aside."""
    lists = word_lists()
    plain = _without_values(unicodedata.normalize("NFKC", text))
    english = listed = pinyin = 0
    words: List[str] = []
    for run in _LATIN_RUN.findall(plain):
        if not _WORD.fullmatch(run.strip(".-_'’")):
            continue  # digits or login-name characters in it: a value
        word = run.strip(".-_'’").lower()
        if word in lists.acronyms:
            continue
        if is_listed(word, lists.english):
            english, listed = english + 1, listed + 1
            words.append(word)
        elif _is_pinyin(word):
            pinyin += 1
        elif len(word) >= 3:
            english += 1
            words.append(word)
    han = _HAN.findall(plain)
    particles = sum(1 for char in han if char in _ZH_PARTICLES)
    return Evidence(english, listed, pinyin, len(han), particles, len(_ZH_QUOTING.findall(plain)), words)


def is_payload(text: Optional[str]) -> bool:
    """True for a button's or a command's ``/intent`` payload (``/set_language{"language": "en"}``)."""
    return bool(text) and bool(_PAYLOAD.fullmatch((text or "").strip()))


def detect_language(text: Optional[str]) -> Optional[str]:
    """``en``, ``zh``, or None when the message shows no language (see the module's contract)."""
    if not text or is_payload(text):
        return None
    switched = switch_requested(text)
    if switched:
        return switched
    found = evidence(text)
    if found.han == 0:
        if found.listed == 0 or found.english <= found.pinyin:
            return None  # names, pinyin, unknown words: nothing tells English
        if found.english == 1 and found.words[0] in word_lists().loan_words:
            return None
        return "en"
    chinese_words = found.han / HAN_CHARACTERS_PER_WORD + found.particles + QUOTING_WEIGHT * found.quoting
    if found.listed >= 1 and found.english >= MIN_ENGLISH_WORDS and found.english > chinese_words:
        return "en"
    return "zh"
