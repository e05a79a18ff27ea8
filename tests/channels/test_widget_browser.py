"""The web chat widget in headless Chromium (Playwright), on the demo page,
against the real Rasa and action servers: FAQ answers, buttons, a real-name
review with two photos uploaded through the file picker, the history after a
reload, refused files, no HTML from messages, phone size and keyboard, a new
conversation, the platform's identity token, and a dropped connection."""
import json
import re
import textwrap

import pytest
from playwright.sync_api import expect

from tests.browser import PHONE, REPLY_TIMEOUT_MS, Widget, demo_url
from tests.channels.conftest import assert_review_opened_with_both_photos, latest_code, uploads_of

pytestmark = pytest.mark.integration

REVIEW_LOGIN = "widget_review_user"
REVIEW_PHONE = "13012345631"
ACCOUNTS = textwrap.dedent(f"""\
    accounts:
      - login_name: {REVIEW_LOGIN}
        kind: natural
        password: "Old@2026pass"
        phone: "{REVIEW_PHONE}"
        name: 测试丙
        document: {{type: 境外护照, number: "E55443322"}}
        realname: {{state: failed}}
    """)
# domain/faq_platform.yml, utter_faq/sms_code
SMS_CODE_QUESTION = "手机验证码多久有效"
SMS_CODE_ANSWER = "发出后 5 分钟内有效"
XSS = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">'


def wait_until(page, condition, timeout_ms=REPLY_TIMEOUT_MS):
    """Polls a condition on the Python side while Playwright keeps handling events."""
    for _ in range(timeout_ms // 50):
        if condition():
            return
        page.wait_for_timeout(50)
    assert condition()


def test_faq_question_is_answered_with_links(widget):
    expect(widget.welcome).to_be_visible()
    widget.say(SMS_CODE_QUESTION)
    expect(widget.typing).to_be_visible()
    expect(widget.typing).to_contain_text("助手正在输入")
    answer = widget.expect_bot(SMS_CODE_ANSWER)
    expect(widget.typing).to_be_hidden()
    expect(widget.welcome).to_have_count(0)
    # newlines of the answer are kept
    assert "\n" in answer.inner_text()

    widget.say("自然人账号怎么注册")
    link = widget.expect_bot("自然人注册").get_by_role("link", name="https://fuwu.most.gov.cn")
    expect(link).to_have_attribute("href", re.compile(r"^https://fuwu\.most\.gov\.cn/?$"))
    expect(link).to_have_attribute("target", "_blank")
    expect(link).to_have_attribute("rel", "noopener noreferrer")


def test_quick_reply_sends_payload_and_shows_title(widget):
    widget.say("你好")
    buttons = widget.quick_replies
    expect(buttons.first).to_be_visible()
    expect(buttons.filter(has_text="转人工客服")).to_be_enabled()
    buttons.filter(has_text="忘记密码").click()

    expect(widget.user_messages().last).to_have_text("我：忘记密码")
    widget.expect_bot("登录名重置密码")
    # the greeting's buttons are spent once one was used
    expect(widget.quick_replies.filter(has_text="转人工客服")).to_be_hidden()
    # the transcript on the server shows the title, not the payload
    widget.page.reload()
    widget.open()
    expect(widget.user_messages()).to_have_text(["我：你好", "我：忘记密码"])


def test_realname_review_with_two_photos(widget, accounts, files):
    session_id = widget.session_id()

    def turn(action, phrase):
        matching = widget.bot_messages().filter(has_text=phrase)
        before = matching.count()
        action()
        expect(matching).not_to_have_count(before)
        return matching.last

    turn(lambda: widget.say("实名认证失败了怎么办"), "登录名")
    turn(lambda: widget.say(REVIEW_LOGIN), "验证码已发到")
    turn(lambda: widget.say(latest_code(accounts, REVIEW_PHONE)), "正面")
    widget.expect_bot("境外护照不做在线核验")

    turn(lambda: widget.choose_file(files["front"]), "反面")
    turn(lambda: widget.choose_file(files["back"]), "实名认证审核中")

    expect(widget.previews).to_have_count(2)
    for preview in widget.previews.all():
        expect(preview).to_have_attribute("src", re.compile(r"^blob:"))
        assert preview.evaluate("img => img.complete && img.naturalWidth > 0")
    expect(widget.user_messages().filter(has_text="[照片] 证件正面.jpg")).to_have_count(1)
    expect(widget.user_messages().filter(has_text="[照片] 证件反面.png")).to_have_count(1)
    expect(widget.error).to_be_hidden()

    assert_review_opened_with_both_photos(accounts, session_id, REVIEW_LOGIN)


def test_history_after_reload(widget):
    session_id = widget.session_id()
    widget.say(SMS_CODE_QUESTION)
    widget.expect_bot(SMS_CODE_ANSWER)

    widget.page.reload()
    expect(widget.panel).to_be_visible()  # it stays open across a reload
    widget.wait_ready()
    assert widget.session_id() == session_id == widget.stored_session_id()
    expect(widget.user_messages()).to_have_text([f"我：{SMS_CODE_QUESTION}"])
    expect(widget.bot_messages()).to_have_count(1)
    expect(widget.bot_messages().first).to_contain_text(SMS_CODE_ANSWER)
    expect(widget.welcome).to_have_count(0)


def test_refused_files(widget, accounts, files):
    upload_requests = []
    widget.page.on("request", lambda request: "/webhooks/account/upload" in request.url
                   and upload_requests.append(request.url))

    widget.choose_file(files["huge"])
    expect(widget.error).to_be_visible()
    expect(widget.error).to_have_text("照片太大：5.0 MB，最大 1 MB。请压缩后重新选择。")
    expect(widget.previews).to_have_count(0)
    expect(widget.messages).to_have_count(0)
    assert upload_requests == []

    widget.choose_file(files["pdf"])
    expect(widget.error).to_contain_text("PDF")
    expect(widget.messages).to_have_count(0)
    assert len(upload_requests) == 1
    assert uploads_of(accounts, widget.session_id()) == []


def test_message_content_is_never_html(widget):
    widget.say(XSS)
    expect(widget.user_messages().last).to_have_text(f"我：{XSS}")
    expect(widget.bot_messages().first).to_be_visible()
    widget.page.reload()
    widget.wait_ready()
    expect(widget.user_messages().last).to_have_text(f"我：{XSS}")  # the history too

    assert widget.page.evaluate("() => window.__xss") is None
    assert widget.log.locator("script, img").count() == 0
    assert widget.page.locator("script:not([src])").count() == 0


def test_phone_size_and_keyboard(assistant, browser):
    context = browser.new_context(viewport=PHONE, locale="zh-CN", has_touch=True)
    page = context.new_page()
    try:
        widget = Widget(page).goto(demo_url(assistant.running.rasa_url))
        for _ in range(80):
            page.keyboard.press("Tab")
            if widget.launcher.evaluate("button => button.getRootNode().activeElement === button"):
                break
        else:
            pytest.fail("Tab never reached the launcher")
        page.keyboard.press("Enter")
        expect(widget.panel).to_be_visible()
        expect(widget.input).to_be_focused()
        box = widget.panel.bounding_box()
        assert box == {"x": 0, "y": 0, "width": PHONE["width"], "height": PHONE["height"]}

        widget.wait_ready()
        page.keyboard.type("第一行")
        page.keyboard.press("Shift+Enter")
        page.keyboard.type("第二行")
        expect(widget.input).to_have_value("第一行\n第二行")
        expect(widget.user_messages()).to_have_count(0)
        page.keyboard.press("Control+A")
        page.keyboard.press("Delete")
        page.keyboard.press("Enter")  # nothing to send
        expect(widget.user_messages()).to_have_count(0)
        page.keyboard.type(SMS_CODE_QUESTION)
        page.keyboard.press("Enter")
        expect(widget.user_messages()).to_have_text([f"我：{SMS_CODE_QUESTION}"])
        expect(widget.input).to_have_value("")
        widget.expect_bot(SMS_CODE_ANSWER)

        page.keyboard.press("Escape")
        expect(widget.panel).to_be_hidden()
        expect(widget.launcher).to_be_focused()
    finally:
        context.close()


def test_new_conversation(widget):
    first = widget.session_id()
    widget.say(SMS_CODE_QUESTION)
    widget.expect_bot(SMS_CODE_ANSWER)

    widget.new_conversation.click()
    expect(widget.host).not_to_have_attribute("data-session-id", first)
    widget.wait_ready()
    second = widget.session_id()
    assert second != first and widget.stored_session_id() == second
    expect(widget.messages).to_have_count(0)
    expect(widget.welcome).to_be_visible()

    widget.page.reload()
    widget.wait_ready()
    assert widget.session_id() == second
    expect(widget.messages).to_have_count(0)


def test_identity_token_goes_with_every_message(assistant, page, files):
    """The page's data-identity-token rides in the metadata of typed text,
    button presses and photos alike."""
    token = "eyJsb2dpbl9uYW1lIjoid2lkZ2V0In0.c2lnbmF0dXJl"
    url = demo_url(assistant.running.rasa_url)

    # what a platform page for a logged-in user has on the widget's <script> tag
    # (set before the deferred script runs; routing the page itself would make
    # Chromium treat it as a public page and refuse its WebSocket to 127.0.0.1)
    page.add_init_script(f"""new MutationObserver(() => {{
        const tag = document.querySelector('script[src$="/webhooks/widget/widget.js"]');
        if (tag) tag.setAttribute("data-identity-token", "{token}");
    }}).observe(document, {{childList: true, subtree: true}});""")
    sent = []
    page.on("websocket", lambda socket: socket.on("framesent", lambda frame: (
        isinstance(frame, str) and frame.startswith('42["user_uttered"') and sent.append(json.loads(frame[2:])[1]))))
    widget = Widget(page).goto(url).open()
    widget.say("你好")
    widget.quick_replies.filter(has_text="实名认证失败").click()
    widget.expect_bot("登录名")
    widget.choose_file(files["front"])
    expect(widget.page.get_by_test_id("widget-upload-note")).to_have_text("已上传")
    wait_until(widget.page, lambda: len(sent) == 3)

    assert [message["message"] for message in sent] == ["你好", "/realname_failed", "/send_file"]
    assert all(message["session_id"] == widget.session_id() for message in sent)
    assert all(message["metadata"]["identity_token"] == token for message in sent)
    assert all(message["metadata"]["language_hint"] == "zh-CN" for message in sent)  # the browser's locale
    assert sent[1]["metadata"]["display_text"] == "实名认证失败"
    assert sent[2]["metadata"]["display_text"] == "[照片] 证件正面.jpg"
    assert re.fullmatch(r"[0-9a-f]{32}", sent[2]["metadata"]["upload_id"])


def test_connection_lost_and_restored(assistant, page):
    """Every socket.io connection goes through a proxy in the page; dropping
    it and refusing new ones for a while is what a server restart looks like."""
    server_down = False
    sockets = []

    def proxy(socket):
        if server_down:
            socket.close()
        else:
            socket.connect_to_server()
            sockets.append(socket)

    def long_polling(route):  # the client's fallback when WebSocket fails
        if server_down:
            route.abort("connectionrefused")
        else:
            route.continue_()

    page.route_web_socket(re.compile(r"/socket\.io/"), proxy)
    page.route(re.compile(r"/socket\.io/\?.*transport=polling"), long_polling)
    widget = Widget(page).goto(demo_url(assistant.running.rasa_url)).open()
    session_id = widget.session_id()
    widget.say(SMS_CODE_QUESTION)
    widget.expect_bot(SMS_CODE_ANSWER)

    server_down = True
    for socket in sockets:
        socket.close()
    expect(widget.status).to_have_text("连接已断开，正在重新连接…")
    expect(widget.send_button).to_be_disabled()
    expect(widget.upload_button).to_be_disabled()

    server_down = False
    expect(widget.status).to_be_hidden()
    widget.wait_ready()
    assert widget.session_id() == session_id
    expect(widget.messages).to_have_count(2)  # the history came back with the session
    widget.say("你好")
    expect(widget.quick_replies.first).to_be_visible()


def test_logout_ends_the_session_and_clears_the_widgets_storage(widget):
    """The platform's user logs out: the widget forgets its session id and clears what it kept in
    the browser, and the server restarts the conversation, so the old session id — read from the
    browser before, or left on a shared computer — resumes an empty conversation."""
    first = widget.session_id()
    widget.say(SMS_CODE_QUESTION)
    widget.expect_bot(SMS_CODE_ANSWER)
    assert widget.stored_session_id() == first

    widget.page.evaluate("() => window.__mostAssistantWidget.logout()")  # a Promise: awaited

    kept = widget.page.evaluate("""() => [localStorage, sessionStorage].map(
        storage => Object.keys(storage).filter(key => key.startsWith('most-assistant')))""")
    assert kept == [[], []]
    expect(widget.host).not_to_have_attribute("data-session-id", first)
    expect(widget.panel).to_be_hidden()
    expect(widget.messages).to_have_count(0)

    # Opened again, the widget starts a new, anonymous session.
    widget.open()
    second = widget.session_id()
    assert second != first and widget.stored_session_id() == second
    expect(widget.messages).to_have_count(0)

    # Whoever kept the old id resumes it, but the server ended that conversation: nothing to read.
    widget.page.evaluate(f"() => localStorage.setItem('most-assistant:session', '{first}')")
    widget.page.reload()
    widget.open()
    assert widget.session_id() == first
    expect(widget.welcome).to_be_visible()
    expect(widget.messages).to_have_count(0)
