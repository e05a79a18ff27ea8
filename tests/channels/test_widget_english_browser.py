"""The account flows in English over the web widget, in headless Chromium on an
English browser (``navigator.language`` en-US), against the real Rasa and action
servers (issue 15): a password reset from an English first message to the new
password set on the (Chinese) reset page, and a real-name diagnosis whose manual
review is opened with two photos uploaded through the file picker.

The fixtures are tests/channels/conftest.py's, with this module's ``ACCOUNTS``
and ``BROWSER_LOCALE``.  What the assistant says is taken from the English
catalogue (``bot.language.tr`` and the flows' own formatting functions), so
the expectations follow the texts and the settings."""
import re
import textwrap

import pytest
from playwright.sync_api import expect

from bot.accounts.checks import document_type_name, password_rule
from bot.accounts.diagnosis import review_duration
from bot.accounts.flows.prompts import photo_prompt, privacy_notice
from bot.accounts.flows.verification import lookup_code_sent
from bot.accounts.labels import realname_state_label
from bot.accounts.masking import mask_login_name
from bot.accounts.models import RealnameState
from bot.accounts.service import RESET_LINK_LIFETIME, minutes_of
from bot.language import tr
from bot.store.passwords import check_password
from tests.accounts.test_flows_english import is_english
from tests.channels.conftest import assert_review_opened_with_both_photos, latest_code
from tests.project_data import answers

pytestmark = pytest.mark.integration

BROWSER_LOCALE = "en-US"
RESET_LOGIN, RESET_PHONE = "widget_en_reset", "13012345741"
REVIEW_LOGIN, REVIEW_PHONE = "widget_en_review", "13012345742"
PASSPORT = "境外护照"
ACCOUNTS = textwrap.dedent(f"""\
    accounts:
      - login_name: {RESET_LOGIN}
        kind: natural
        password: "Old@2026pass"
        phone: "{RESET_PHONE}"
        name: ANNA MUELLER
        document: {{type: {PASSPORT}, number: "C7M4K2P91"}}
        realname: {{state: verified_manual}}
      - login_name: {REVIEW_LOGIN}
        kind: natural
        password: "Old@2026pass"
        phone: "{REVIEW_PHONE}"
        name: JOHN SMITH
        document: {{type: {PASSPORT}, number: "E66554433"}}
        realname: {{state: failed}}
    """)
NEW_PASSWORD = "New@2026pass"
RESET_LINK = re.compile(r"^http://\S+/webhooks/account/reset\?token=[A-Za-z0-9_\-]{40,}$")


def turn(widget, action, text):
    """Does ``action`` and waits for one more bot message containing ``text``; returns it."""
    matching = widget.bot_messages().filter(has_text=text)
    before = matching.count()
    action()
    expect(matching).not_to_have_count(before)
    return matching.last


def words(text):
    return " ".join(text.split())


def assert_all_english(widget):
    """Every bot message is one of the domain's English answers or English by the flows' measure."""
    domain_answers = {words(text) for text in answers("en").values()}
    texts = widget.bot_messages().locator(".text").all_inner_texts()
    assert texts and not [text for text in texts if words(text) not in domain_answers and not is_english(text)]


def test_english_password_reset_from_the_first_message_to_the_new_password(widget, accounts):
    turn(widget, lambda: widget.say(f"I forgot my password, my login name is {RESET_LOGIN}"),
         lookup_code_sent("en"))
    expect(widget.host).to_have_attribute("data-language", "en")
    # The login name came with the first message: the flow did not ask for it.
    expect(widget.bot_messages().filter(has_text=tr("flows.ref_reset", "en"))).to_have_count(0)

    turn(widget, lambda: widget.say(latest_code(accounts, RESET_PHONE)), tr("flows.code_accepted", "en"))
    link = widget.log.locator('a[href*="/webhooks/account/reset?token="]')
    expect(link).to_have_count(1)
    href = link.get_attribute("href")
    assert RESET_LINK.match(href), href
    expect(link).to_have_text(href)
    expect(link).to_have_attribute("target", "_blank")
    # The whole message is the catalogue's, formatted with the constants and the link.
    expect(widget.bot_messages().last.locator(".text")).to_have_text(tr(
        "flows.reset_link", "en",
        minutes=minutes_of(RESET_LINK_LIFETIME), login=mask_login_name(RESET_LOGIN), link=href,
        rule=password_rule("en"),
    ))
    assert_all_english(widget)

    # The page is in Chinese, as the English message says: 新密码, 再输入一次, 确定.
    with widget.page.context.expect_page() as opened:
        link.click()
    reset_page = opened.value
    reset_page.get_by_label("新密码").fill(NEW_PASSWORD)
    reset_page.get_by_label("再输入一次").fill(NEW_PASSWORD)
    reset_page.get_by_role("button", name="确定").click()
    expect(reset_page.get_by_label("新密码")).to_have_count(0)  # the form is gone: the password is set
    assert check_password(NEW_PASSWORD, accounts.account_by_login(RESET_LOGIN).password_hash)


def test_english_realname_diagnosis_with_two_photos_opens_the_manual_review(widget, accounts, files):
    session_id = widget.session_id()
    turn(widget, lambda: widget.say("My real-name verification failed, what should I do?"),
         tr("flows.ref_default", "en"))
    expect(widget.bot_messages().first.locator(".text")).to_have_text(answers("en")["utter_realname_failed"])
    widget.expect_bot(privacy_notice("en"))
    expect(widget.host).to_have_attribute("data-language", "en")

    turn(widget, lambda: widget.say(f"my login name is {REVIEW_LOGIN}"), lookup_code_sent("en"))
    front_question = photo_prompt("photo_front", False, "en")["text"]  # formats and size from the settings
    turn(widget, lambda: widget.say(latest_code(accounts, REVIEW_PHONE)), front_question)
    widget.expect_bot(tr("flows.code_accepted", "en"))
    widget.expect_bot(tr("diagnosis.state", "en", state=realname_state_label(RealnameState.FAILED, "en")))
    widget.expect_bot(tr("diagnosis.offline_document", "en", document=document_type_name(PASSPORT, "en")))
    widget.expect_bot(tr("diagnosis.upload", "en", button=tr("diagnosis.upload_button_natural", "en"),
                         review=review_duration("en")))

    turn(widget, lambda: widget.choose_file(files["front"]), photo_prompt("photo_back", False, "en")["text"])
    turn(widget, lambda: widget.choose_file(files["back"]), tr(
        "flows.review_opened", "en",
        state=realname_state_label(RealnameState.IN_REVIEW, "en"), review=review_duration("en"),
    ))

    expect(widget.previews).to_have_count(2)
    for name in (files["front"].name, files["back"].name):  # the widget's own words, in English
        expect(widget.user_messages().filter(has_text=f"[Photo] {name}")).to_have_count(1)
    expect(widget.error).to_be_hidden()
    assert_all_english(widget)

    assert_review_opened_with_both_photos(accounts, session_id, REVIEW_LOGIN)
