"""The checks on what users type, how identity data is masked, the platform's
identity tokens and password hashes.  Pure functions: no database."""
import json
from datetime import date

import pytest

from bot.accounts import identity
from bot.accounts.checks import (
    DOCUMENT_TYPES,
    InvalidInput,
    parse_code,
    parse_credit_code,
    parse_document_number,
    parse_document_type,
    parse_login_name,
    parse_mainland_id,
    parse_person_name,
    parse_phone,
    parse_unit_name,
    password_problems,
)
from bot.accounts.masking import mask_document, mask_login_name, mask_phone
from bot.store.passwords import check_password, hash_password

ALL_TYPE_NAMES = ["居民身份证", "外国人永久居留证", "往来港澳通行证", "往来台湾通行证",
                  "港澳居民往来内地通行证", "台湾居民来往大陆通行证", "境外护照"]


# -- mainland ID numbers ------------------------------------------------------

@pytest.mark.parametrize("number", [
    "110101199003074514",
    "440102197806012345",
    "11010519491231002X",  # check digit X
])
def test_valid_mainland_ids_are_accepted(number):
    assert parse_mainland_id(number) == number


def test_lower_case_x_check_digit_is_accepted_as_upper_case():
    assert parse_mainland_id("11010519491231002x") == "11010519491231002X"


def test_mainland_id_with_spaces_and_full_width_digits_is_normalised():
    assert parse_mainland_id(" 110101 19900307 4514 ") == "110101199003074514"
    assert parse_mainland_id("１１０１０１１９９００３０７４５１４") == "110101199003074514"


@pytest.mark.parametrize("number", ["11010119900307451", "1101011990030745144", "11010119900307451Y"])
def test_mainland_id_of_wrong_shape_is_refused_with_its_length(number):
    with pytest.raises(InvalidInput, match="18 位") as error:
        parse_mainland_id(number)
    assert f"{len(number)} 位" in str(error.value)


def test_mainland_id_with_wrong_check_digit_is_refused():
    with pytest.raises(InvalidInput, match="校验位"):
        parse_mainland_id("110101199003074515")


def test_mainland_id_born_on_30_february_is_refused():
    # The check digit is right: only the date is wrong.
    with pytest.raises(InvalidInput, match="出生日期"):
        parse_mainland_id("110101199002301236")


def test_mainland_id_born_in_the_future_is_refused():
    assert date(2099, 12, 31) > date.today()
    with pytest.raises(InvalidInput, match="出生日期"):
        parse_mainland_id("110101209912311237")  # check digit right, born 2099-12-31


def test_mainland_id_born_before_1900_is_refused():
    with pytest.raises(InvalidInput, match="出生日期"):
        parse_mainland_id("110101189901011233")


def test_document_number_of_a_mainland_id_uses_the_id_checks():
    with pytest.raises(InvalidInput, match="校验位"):
        parse_document_number("110101199003074515", "居民身份证")


# -- other document numbers ------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("E12345678", "E12345678"),
    ("e1234 5678", "E12345678"),  # blanks dropped, upper-cased
    ("Ｃ１２３４５６７８", "C12345678"),  # full-width
    ("H0123456(01)", "H0123456(01)"),
])
def test_other_document_numbers_are_normalised(text, expected):
    assert parse_document_number(text, "境外护照") == expected


@pytest.mark.parametrize("text", ["E12", "E" + "1" * 24, "护照号E1234567", "E1234_5678"])
def test_other_document_numbers_of_wrong_shape_are_refused(text):
    with pytest.raises(InvalidInput, match="5–24 位"):
        parse_document_number(text, "往来港澳通行证")


# -- document types --------------------------------------------------------------

def test_the_platform_has_exactly_the_seven_document_types():
    assert [doc.name for doc in DOCUMENT_TYPES] == ALL_TYPE_NAMES


@pytest.mark.parametrize("name", ALL_TYPE_NAMES)
def test_each_document_type_is_found_by_its_name(name):
    assert parse_document_type(name).name == name


@pytest.mark.parametrize("alias, name", [
    (alias, doc.name) for doc in DOCUMENT_TYPES for alias in doc.aliases
])
def test_each_alias_names_its_document_type(alias, name):
    assert parse_document_type(alias).name == name


@pytest.mark.parametrize("text, name", [
    ("ID Card", "居民身份证"),
    ("PASSPORT", "境外护照"),
    ("我用的是台胞证", "台湾居民来往大陆通行证"),
    ("我的证件是往来港澳通行证", "往来港澳通行证"),
    ("大陆身份证", "居民身份证"),
])
def test_document_type_is_found_in_a_sentence_or_other_case(text, name):
    assert parse_document_type(text).name == name


def test_unknown_document_type_lists_all_seven():
    with pytest.raises(InvalidInput) as error:
        parse_document_type("驾驶证")
    for name in ALL_TYPE_NAMES:
        assert name in str(error.value)


def test_which_documents_go_online_and_which_to_manual_review():
    by_name = {doc.name: doc for doc in DOCUMENT_TYPES}
    assert not by_name["外国人永久居留证"].online
    assert not by_name["境外护照"].online
    assert all(by_name[name].online for name in ALL_TYPE_NAMES
               if name not in ("外国人永久居留证", "境外护照"))
    assert by_name["居民身份证"].required_fields == ("姓名", "身份证号", "身份证有效起始日期")
    assert by_name["居民身份证"].region == "中国大陆"
    assert by_name["境外护照"].region == "其他"


# -- phone numbers and codes ---------------------------------------------------

@pytest.mark.parametrize("text", [
    "13800138000", "138 0013 8000", "138-0013-8000", "+86 138 0013 8000", "+8613800138000",
    "8613800138000", "１３８００１３８０００",
])
def test_phone_numbers_are_normalised(text):
    assert parse_phone(text) == "13800138000"


@pytest.mark.parametrize("text", ["1380013800", "138001380001", "12800138000", "23800138000", "010-88659000", "手机"])
def test_wrong_phone_numbers_are_refused(text):
    with pytest.raises(InvalidInput, match="11 位"):
        parse_phone(text)


@pytest.mark.parametrize("text", ["123456", " 123456 ", "验证码是123456", "验证码：123456", "１２３４５６"])
def test_six_digit_codes_are_read(text):
    assert parse_code(text) == "123456"


@pytest.mark.parametrize("text", ["12345", "1234567", "12a456", "验证码是12345", ""])
def test_codes_that_are_not_six_digits_are_refused(text):
    with pytest.raises(InvalidInput, match="6 位数字"):
        parse_code(text)


# -- login names, credit codes, names ---------------------------------------------

@pytest.mark.parametrize("text", ["zhang_san", "我的登录名是zhang_san", "登录名：zhang_san",
                                  "我的用户名是 zhang_san", "ｚｈａｎｇ＿ｓａｎ",
                                  "my login name is zhang_san", "Username: zhang_san", "user ID is zhang_san",
                                  "account name: zhang_san", "my login is zhang_san", "account: zhang_san",
                                  "login-name is zhang_san"])
def test_login_names_are_read_without_their_prefix(text):
    assert parse_login_name(text) == "zhang_san"


@pytest.mark.parametrize("text", ["张三", "zhang-san", "zhang.san", "我的登录名是"])
def test_login_names_with_other_characters_are_refused(text):
    with pytest.raises(InvalidInput, match="字母、数字和下划线"):
        parse_login_name(text)


@pytest.mark.parametrize("text", ["91110108MA01ABCD3X", "91110108ma01abcd3x", " 9111 0108 MA01 ABCD 3X "])
def test_credit_codes_are_normalised(text):
    assert parse_credit_code(text) == "91110108MA01ABCD3X"


@pytest.mark.parametrize("text", [
    "91110108MA01ABCD3", "91110108MA01ABCD3XX",  # 17, 19 characters
    "91110108MA01ABCDOX",  # O is never used
    "9111A108MA01ABCD3X",  # characters 3-8 are the region code: digits
])
def test_wrong_credit_codes_are_refused(text):
    with pytest.raises(InvalidInput, match="18 位"):
        parse_credit_code(text)


@pytest.mark.parametrize("text, expected", [
    ("张三", "张三"), ("我叫张三", "张三"), ("姓名：李四", "李四"), ("张 三", "张三"),
    ("阿依古丽·买买提", "阿依古丽·买买提"), ("John  Smith", "John Smith"),
    ("ＪＯＨＮ ＳＭＩＴＨ", "JOHN SMITH"),  # full-width Latin letters
])
def test_person_names_are_normalised(text, expected):
    assert parse_person_name(text) == expected


@pytest.mark.parametrize("text", ["张", "张三1", "John3", "12345", ""])
def test_person_names_with_digits_or_too_short_are_refused(text):
    with pytest.raises(InvalidInput, match="真实姓名"):
        parse_person_name(text)


@pytest.mark.parametrize("text", ["北京某某科技有限公司", "我们单位是北京某某科技有限公司",
                                  "单位名称：北京某某科技有限公司", "北京某某 科技有限公司"])
def test_unit_names_are_read_without_their_prefix(text):
    assert parse_unit_name(text) == "北京某某科技有限公司"


def test_unit_names_keep_brackets_half_width():
    assert parse_unit_name("北京某某（集团）有限公司") == "北京某某(集团)有限公司"


@pytest.mark.parametrize("text", ["公司", "123456", "我们公司是"])
def test_unit_names_too_short_or_without_letters_are_refused(text):
    with pytest.raises(InvalidInput, match="全称"):
        parse_unit_name(text)


# -- the forbidden SQL words and characters (seed 000) ------------------------------

FORBIDDEN = ["select", "update", "delete", "exec", "count", "SELECT", "'", '"', "=", ";", "<", ">", "%"]
FREE_TEXT_PARSERS = {
    "document number": (lambda text: parse_document_number(text, "境外护照"), "E1234567{}"),
    "login name": (parse_login_name, "zhang_{}_san"),
    "person name": (parse_person_name, "张三{}"),
    "foreign person name": (parse_person_name, "John {} Smith"),
    "unit name": (parse_unit_name, "北京某某{}科技有限公司"),
}


@pytest.mark.parametrize("parser_name", sorted(FREE_TEXT_PARSERS))
@pytest.mark.parametrize("forbidden", FORBIDDEN)
def test_each_free_text_parser_refuses_the_forbidden_words_and_characters(parser_name, forbidden):
    parse, template = FREE_TEXT_PARSERS[parser_name]
    with pytest.raises(InvalidInput, match="不能含有") as error:
        parse(template.format(forbidden))
    assert forbidden.lower() in str(error.value).lower()


@pytest.mark.parametrize("parser_name", sorted(FREE_TEXT_PARSERS))
@pytest.mark.parametrize("forbidden", ["ｓｅｌｅｃｔ", "＝", "；", "＜", "％", "“"])
def test_full_width_forbidden_words_and_characters_are_refused_too(parser_name, forbidden):
    parse, template = FREE_TEXT_PARSERS[parser_name]
    with pytest.raises(InvalidInput, match="不能含有"):
        parse(template.format(forbidden))


def test_the_valid_templates_of_the_forbidden_test_are_accepted():
    # Proves the refusals above come from the forbidden text, not the rest.
    for parse, template in FREE_TEXT_PARSERS.values():
        parse(template.format(""))


# -- password rules --------------------------------------------------------------

@pytest.mark.parametrize("password", ["Abcdefg1", "abcdef1!", "ABCDEF1!", "Abcdefg!", "Ab1!Ab1!Ab1!"])
def test_passwords_of_8_with_3_classes_are_fine(password):
    assert password_problems(password) == []


def test_password_shorter_than_8_is_refused_even_with_all_classes():
    assert password_problems("Ab1!xyz") == ["至少 8 位"]


@pytest.mark.parametrize("password", ["abcdefgh", "abcd1234", "ABCD!@#$", "12345678", "Abcdefgh"])
def test_password_with_fewer_than_3_classes_is_refused(password):
    problems = password_problems(password)
    assert len(problems) == 1 and "至少 3 种" in problems[0]


def test_password_breaking_both_rules_gets_both_problems():
    assert len(password_problems("abc")) == 2


# -- masking -------------------------------------------------------------------

def test_phone_is_masked_in_the_middle():
    assert mask_phone("13800138000") == "138****8000"


def test_missing_or_short_phone_is_not_shown():
    assert mask_phone(None) == "（无）"
    assert mask_phone("") == "（无）"
    assert mask_phone("12345") == "****"


def test_18_character_document_shows_only_4_and_4():
    assert mask_document("110101199003074514") == "1101**********4514"


def test_short_document_shows_only_first_and_last():
    assert mask_document("E1234567") == "E*****67"
    assert mask_document("E12345678") == "E******78"
    assert mask_document(None) == "（无）"


@pytest.mark.parametrize("login, masked", [
    ("zhangsan", "zha***an"), ("zhangsan_2024", "zha********24"), ("lisi5", "l***5"),
    ("abc", "a**"), ("ab", "a*"),
])
def test_login_names_are_partly_masked(login, masked):
    assert mask_login_name(login) == masked


@pytest.mark.parametrize("length", [
    2, 3,
    4, 5, 6, 7, 8, 12, 30,
])
def test_every_login_name_keeps_its_length_and_hides_part(length):
    login = "abcdefghijklmnopqrstuvwxyz0123456789"[:length]
    masked = mask_login_name(login)
    assert len(masked) == length
    assert "*" in masked
    assert masked != login


# -- identity tokens --------------------------------------------------------------

NOW = 1_800_000_000.0
SECRET = "platform-secret-of-at-least-32-characters"
OTHER_SECRET = "another-secret-of-at-least-32-characters"
AUDIENCE = "most-account-assistant"
MAX_AGE = 600


def check(token, now=NOW, secret=SECRET):
    return identity.verify(token, secret, AUDIENCE, MAX_AGE, now=now)


def test_identity_token_roundtrip():
    token = identity.sign("zhang_san", SECRET, AUDIENCE, lifetime_seconds=600, now=NOW, token_id="a" * 22)
    vouched = check(token, now=NOW + 599)
    assert vouched.login_name == "zhang_san" and vouched.token_id == "a" * 22
    assert vouched.issued_at == NOW and vouched.expires_at == NOW + 600


def test_each_token_gets_its_own_id():
    first, second = (check(identity.sign("zhang_san", SECRET, AUDIENCE, now=NOW)) for _ in range(2))
    assert first.token_id != second.token_id


def test_identity_token_with_tampered_payload_is_refused():
    token = identity.sign("zhang_san", SECRET, AUDIENCE, now=NOW)
    other_payload = identity.sign("admin", OTHER_SECRET, AUDIENCE, now=NOW).split(".")[0]
    forged = other_payload + "." + token.split(".")[1]
    with pytest.raises(identity.InvalidToken, match="signature"):
        check(forged)


def test_identity_token_signed_with_another_secret_is_refused():
    token = identity.sign("zhang_san", OTHER_SECRET, AUDIENCE, now=NOW)
    with pytest.raises(identity.InvalidToken, match="signature"):
        check(token)


def test_expired_identity_token_is_refused():
    token = identity.sign("zhang_san", SECRET, AUDIENCE, lifetime_seconds=300, now=NOW)
    with pytest.raises(identity.InvalidToken, match="expired"):
        check(token, now=NOW + 301)


def test_token_older_than_the_maximum_age_is_refused_whatever_its_expiry():
    token = identity.sign("zhang_san", SECRET, AUDIENCE, lifetime_seconds=86400, now=NOW)
    assert check(token, now=NOW + MAX_AGE).login_name == "zhang_san"
    with pytest.raises(identity.InvalidToken, match="too old"):
        check(token, now=NOW + MAX_AGE + 1)


def test_token_issued_in_the_future_is_refused_beyond_the_clock_skew():
    skew = identity.CLOCK_SKEW_SECONDS
    assert check(identity.sign("zhang_san", SECRET, AUDIENCE, now=NOW + skew)).login_name == "zhang_san"
    with pytest.raises(identity.InvalidToken, match="future"):
        check(identity.sign("zhang_san", SECRET, AUDIENCE, now=NOW + skew + 1))


@pytest.mark.parametrize("audience", ["another-service", "", "MOST-ACCOUNT-ASSISTANT", ["most-account-assistant"]])
def test_token_for_another_audience_is_refused(audience):
    token = identity.sign("zhang_san", SECRET, AUDIENCE, now=NOW, aud=audience)
    with pytest.raises(identity.InvalidToken, match="audience"):
        check(token)


@pytest.mark.parametrize("missing", ["login_name", "aud", "iat", "exp", "jti"])
def test_every_claim_is_required(missing):
    token = identity.sign("zhang_san", SECRET, AUDIENCE, now=NOW)
    claims = json.loads(identity._b64decode(token.split(".")[0]))
    del claims[missing]
    payload = identity._b64encode(json.dumps(claims).encode())
    with pytest.raises(identity.InvalidToken, match="malformed"):
        check(payload + "." + identity._signature(payload, SECRET))


@pytest.mark.parametrize("claims", [
    {"jti": "short"}, {"jti": "has spaces in it, 123456"}, {"jti": 1234567890123456789},
    {"exp": float("nan")}, {"iat": float("nan")}, {"exp": "later"},
])
def test_malformed_claims_are_refused(claims):
    with pytest.raises(identity.InvalidToken, match="malformed"):
        check(identity.sign("zhang_san", SECRET, AUDIENCE, now=NOW, **claims))


@pytest.mark.parametrize("token", ["", "no-dot", "a.b.c", None, 42])
def test_malformed_identity_token_is_refused(token):
    with pytest.raises(identity.InvalidToken):
        check(token)


def test_signed_payload_that_is_not_json_claims_is_refused():
    payload = identity._b64encode(b'["not", "claims"]')
    token = payload + "." + identity._signature(payload, SECRET)
    with pytest.raises(identity.InvalidToken, match="malformed"):
        check(token)


@pytest.mark.parametrize("token", ["令牌.abc", "abc.签名"])
def test_non_ascii_identity_token_is_refused_as_invalid(token):
    with pytest.raises(identity.InvalidToken):
        check(token)


def test_empty_secret_disables_identity_tokens():
    token = identity.sign("zhang_san", SECRET, AUDIENCE, now=NOW)
    with pytest.raises(identity.InvalidToken, match="disabled"):
        check(token, secret="")


def test_a_short_secret_is_refused_for_signing_and_verifying():
    short = "x" * 31
    with pytest.raises(ValueError, match="32"):
        identity.sign("zhang_san", short, AUDIENCE, now=NOW)
    payload = identity._b64encode(b'{"login_name":"zhang_san"}')
    with pytest.raises(identity.InvalidToken, match="shorter than 32"):
        check(payload + "." + identity._signature(payload, short), secret=short)


# -- password hashes ----------------------------------------------------------------

def test_password_hash_checks_the_right_password_only():
    stored = hash_password("Abcdefg1!")
    assert "Abcdefg1!" not in stored
    assert check_password("Abcdefg1!", stored)
    assert not check_password("Abcdefg1?", stored)
    assert not check_password("", stored)


def test_same_password_gets_a_different_salt_each_time():
    first, second = hash_password("Abcdefg1!", iterations=1000), hash_password("Abcdefg1!", iterations=1000)
    assert first != second
    assert first.split("$")[2] != second.split("$")[2]
    assert check_password("Abcdefg1!", first) and check_password("Abcdefg1!", second)


@pytest.mark.parametrize("stored", ["", "plain-text", "md5$1$abc$def", "pbkdf2_sha256$1000$abc"])
def test_unusable_stored_hash_never_matches(stored):
    assert not check_password("Abcdefg1!", stored)


@pytest.mark.parametrize("parse, text, expected", [
    (parse_login_name, "account_01", "account_01"),
    (parse_login_name, "updater", "updater"),
    (parse_person_name, "Scott Counts", "Scott Counts"),
])
def test_sql_words_inside_ordinary_words_are_accepted(parse, text, expected):
    # Accepted unchanged: not refused, and not truncated or stripped of the SQL-like part.
    assert parse(text) == expected
