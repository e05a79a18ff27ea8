"""End to end over the REST channel, on the real Rasa and action servers:
accounts imported from a YAML file with the CLI, codes read from the SMS
outbox, photos uploaded over HTTP, a password reset on the reset page, an
appeal and a manual review filed."""
import io
import json
import re
import subprocess
import sys
import textwrap
import urllib.error
import urllib.parse
import urllib.request
import uuid

import pytest
from PIL import Image

from bot.accounts.models import Account, RealnameState
from bot.accounts.service import AccountService
from bot.chat import send
from bot.config import PROJECT_ROOT
from bot.store import Database
from bot.store.passwords import check_password
from tests.project_data import answers as chinese_answers

pytestmark = pytest.mark.integration

ACCOUNTS = textwrap.dedent("""\
    accounts:
      - login_name: e2e_reset_user
        kind: natural
        password: "Old@2026pass"
        phone: "13012345601"
        name: 测试甲
        document: {type: 居民身份证, number: "11010519491231002X", valid_from: 2015-03-01}
        realname: {state: verified_online}
      - login_name: e2e_review_user
        kind: natural
        password: "Old@2026pass"
        phone: "13012345602"
        name: 测试乙
        document: {type: 境外护照, number: "E99887766"}
        realname: {state: failed}
    """)


OUT_OF_SCOPE_ANSWER = chinese_answers()["utter_out_of_scope"]


@pytest.fixture(scope="module")
def accounts(assistant, tmp_path_factory):
    url = assistant.overrides["DATABASE_URL"]
    path = tmp_path_factory.mktemp("import") / "accounts.yml"
    path.write_text(ACCOUNTS, encoding="utf-8")
    subprocess.run([sys.executable, "-m", "bot", "db", "upgrade", "--database-url", url],
                   cwd=PROJECT_ROOT, check=True)
    result = subprocess.run([sys.executable, "-m", "bot", "accounts", "import", str(path),
                             "--database-url", url], cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    database = Database(url)
    yield AccountService(database)
    database.dispose()


class Chat:
    """A REST client: its conversation is ``rest:<sender>``, its photos go to the REST upload."""

    def __init__(self, assistant):
        self.base = assistant.running.rasa_url
        self.token = assistant.rest_token
        self.sender = "e2e-" + uuid.uuid4().hex[:8]

    def say(self, text, **metadata):
        replies = send(f"{self.base}/webhooks/rest/webhook", self.sender, text, metadata=metadata or None,
                       token=self.token)
        return "\n".join(reply.get("text", "") for reply in replies)

    def upload(self, data, name="photo.png"):
        boundary = uuid.uuid4().hex
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"sender\"\r\n\r\n{self.sender}\r\n"
                f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
                "Content-Type: image/png\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
        request = urllib.request.Request(f"{self.base}/webhooks/rest/upload", data=body, method="POST",
                                         headers={"Content-Type": f"multipart/form-data; boundary={boundary}",
                                                  "Authorization": f"Bearer {self.token}"})
        try:
            with urllib.request.urlopen(request, timeout=30) as reply:
                return reply.status, json.loads(reply.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def send_photo(self, data):
        status, answer = self.upload(data)
        assert status == 200, answer
        return self.say("/send_file", upload_id=answer["upload_id"])


def png(color):
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), color).save(buffer, "PNG")
    return buffer.getvalue()


def latest_code(service, phone):
    return re.search(r"\d{6}", service.outbox(phone=phone)[0].text).group(0)


def test_password_reset_from_chat_to_new_password(assistant, accounts):
    chat = Chat(assistant)
    assert "登录名" in chat.say("忘记密码了")
    answer = chat.say("e2e_reset_user")
    # Before the code nothing of the account is shown, not even its masked phone (docs/security.md section 8).
    assert "如果账号存在" in answer and "5601" not in answer and "e2e_reset_user" not in answer
    assert "还可以再试" in chat.say("000000" if latest_code(accounts, "13012345601") != "000000" else "111111")
    answer = chat.say(latest_code(accounts, "13012345601"))
    link = re.search(r"http\S+/webhooks/account/reset\?token=\S+", answer).group(0)

    with urllib.request.urlopen(link, timeout=10) as page:
        assert "设置新密码" in page.read().decode()
    token = urllib.parse.parse_qs(urllib.parse.urlparse(link).query)["token"][0]
    form = urllib.parse.urlencode({"token": token, "password": "New@2026pass", "repeated": "New@2026pass"})
    with urllib.request.urlopen(urllib.request.Request(link.split("?")[0], data=form.encode()), timeout=10) as page:
        assert "新密码已生效" in page.read().decode()
    account = accounts.account_by_login("e2e_reset_user")
    assert check_password("New@2026pass", account.password_hash)
    with pytest.raises(urllib.error.HTTPError) as used:
        urllib.request.urlopen(link, timeout=10)
    assert used.value.code == 410


def test_appeal_with_photos_and_a_code_to_the_new_phone(assistant, accounts):
    chat = Chat(assistant)
    assert "个人" in chat.say("登录名忘了，手机号也换了")
    assert "姓名" in chat.say("个人账号")
    assert "证件类型" in chat.say("测试甲")
    assert "证件号码" in chat.say("居民身份证")
    assert "校验位" in chat.say("110105194912310021")
    assert "手机号" in chat.say("11010519491231002X")
    assert "正面" in chat.say("13012345699")
    status, refusal = chat.upload(b"%PDF-1.4 not a photo", name="front.jpg")
    assert status == 400 and "PDF" in refusal["error"]
    assert "反面" in chat.send_photo(png("white"))
    assert "验证码" in chat.send_photo(png("gray"))
    answer = chat.say(latest_code(accounts, "13012345699"))
    number = re.search(r"SS\d{16}", answer).group(0)
    appeals = accounts.appeals_for(phone="13012345699")
    assert [appeal.number for appeal in appeals] == [number]
    assert number in chat.say("我的申诉进度")


def test_realname_failure_diagnosed_and_review_opened(assistant, accounts):
    chat = Chat(assistant)
    assert "登录名" in chat.say("实名认证失败了怎么办")
    chat.say("e2e_review_user")
    answer = chat.say(latest_code(accounts, "13012345602"))
    assert "境外护照不做在线核验" in answer and "正面" in answer
    assert "反面" in chat.send_photo(png("white"))
    assert "实名认证审核中" in chat.send_photo(png("gray"))
    assert accounts.account_by_login("e2e_review_user").state == RealnameState.IN_REVIEW


def test_cancel_mid_flow_and_the_assistant_still_answers(assistant, accounts):
    chat = Chat(assistant)
    chat.say("忘记密码了")
    assert "已经停下" in chat.say("取消")
    reply = chat.say("今天天气怎么样")
    # The out-of-scope answer (utter_out_of_scope in domain/core.yml), alone: the
    # cancelled flow does not come back with its question for the login name.
    assert "这个问题我回答不了" in reply and "账号问题" in reply
    assert reply == OUT_OF_SCOPE_ANSWER
    assert "登录名" not in reply


def test_account_table_holds_no_plain_password(accounts):
    with accounts.db.session() as session:
        hashes = [account.password_hash for account in session.query(Account)]
    assert hashes and all(not h.startswith("Old@") and h.startswith("pbkdf2_sha256$") for h in hashes)
