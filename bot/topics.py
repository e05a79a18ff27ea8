"""What the assistant can talk about, with the question each topic answers.

One entry per core intent and per FAQ answer (``faq/<key>``).  The question is
shown on "did you mean" buttons, and for FAQ topics it is also the button
payload: Rasa cannot address a retrieval sub-intent by ``/intent`` payload, so
the button sends the canonical question, which is one of that topic's training
examples.

Each topic has its question in every language (``CORE_TOPICS_EN``,
``FAQ_TOPICS_EN``: the same keys as the Chinese tables, tests/core/test_clarification.py
checks it); ``Topic.question_in(language)`` is the button's title.  The payload
stays the Chinese canonical question in every language: it is the training
example.  The button's title travels with it as the message's ``display_text``,
and the language detector reads that title (bot/nlu/language_detector.py), so
pressing an English button keeps the conversation in English.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional

from bot.language import language_of

FAQ_INTENT = "faq"


@dataclass(frozen=True)
class Topic:
    key: str  # intent name, or "faq/<sub-intent>"
    question: str  # Chinese: the canonical question, an FAQ button's payload
    question_en: str

    def question_in(self, language: Optional[str]) -> str:
        """The question in ``language`` (a button's title)."""
        return self.question_en if language_of(language) == "en" else self.question

    @property
    def is_faq(self) -> bool:
        return self.key.startswith(FAQ_INTENT + "/")

    @property
    def button_payload(self) -> str:
        return self.question if self.is_faq else f"/{self.key}"


CORE_TOPICS: Dict[str, str] = {
    "forgot_password": "忘记密码 / 提示登录名或密码错误",
    "forgot_login_name": "忘记登录名，或预留手机号用不了",
    "id_already_registered": "证件号码提示已被注册或已存在",
    "unit_already_registered": "单位名称或信用代码已被注册",
    "realname_failed": "实名认证失败",
    "missing_grant": "没有权限 / 授权过期",
    "garbled_page": "页面乱码或空白",
    "request_human": "转人工客服",
}

FAQ_TOPICS: Dict[str, str] = {
    # login and password
    "captcha_wrong": "登录时提示验证码错误怎么办？",
    "password_expired": "登录提示密码过期怎么办？",
    "reset_failed": "重置密码失败或重置后仍提示密码错误怎么办？",
    "appeal_duration": "申诉找回账号要多久？",
    "appeal_main_agent": "法人申诉找回时主代办人填谁？",
    "unit_renamed_appeal": "单位改名后怎么申诉找回法人账号？",
    "sms_code": "手机验证码多久有效，收不到怎么办？",
    # registration
    "register_natural": "自然人怎么注册账号？",
    "register_legal": "单位（法人）怎么注册账号？",
    "account_type": "该注册自然人账号还是法人账号？",
    "login_name_rules": "登录名有什么格式要求？",
    "password_rules": "密码有什么要求？",
    "one_document_accounts": "一个证件能注册几个账号？",
    "old_system_users": "原来老系统的用户能直接登录吗？",
    # after login
    "where_to_handle_business": "登录后在哪里办理业务？",
    "where_to_edit_info": "登录后在哪里修改用户信息？",
    "where_to_change_password": "登录后在哪里修改密码？",
    # real-name verification
    "realname_how": "怎么做实名认证？",
    "realname_documents": "哪些证件可以实名认证？",
    "realname_status": "实名认证状态分别是什么意思？",
    "review_duration": "上传证件人工审核要多久？",
    "upload_requirements": "上传证件照片有什么要求？",
    "legal_info_parts": "法人信息包括哪几部分，要填哪些？",
    "legal_rep_type_empty": "保存时提示“法定代表人类型不能为空”怎么办？",
    "asia_no_china": "选择所属大洲时“亚洲”里没有中国怎么办？",
    # grants
    "how_to_grant": "法人怎么给自然人授权？",
    "how_to_change_grant": "怎么修改已经给出的授权？",
    "roles": "单位管理员、事项管理员、事项办理员有什么区别？",
    # general
    "browser": "推荐用什么浏览器？",
    "contact_support": "平台技术支持电话和邮箱是多少？",
    # technology contracts
    "tech_contract_register": "技术合同交易主体怎么注册和开通系统？",
    "tech_contract_remark": "技术合同备注提示有非法字符怎么办？",
    # human genetic resources (人遗)
    "hgr_no_download": "人遗项目提交后没有下载按钮怎么办？",
    "hgr_not_opened": "人遗网上申报系统未开通（未报备）怎么办？",
    "hgr_project_lost": "单位名称变更后人遗项目丢失怎么办？",
    "hgr_staff_left": "员工离职后人遗项目怎么移交？",
    "hgr_backup_mismatch": "人遗备份号不匹配怎么办？",
    # Torch centre (火炬中心)
    "torch_enterprise_login": "以前在火炬中心办高企认定、科小企评价的企业账号怎么登录？",
    "torch_natural_account": "企业账号登录后变成了自然人账号怎么办？",
    "torch_personal_login": "火炬中心的个人账号怎么登录政务服务平台？",
    "torch_entry": "火炬中心的其他业务在哪里办理？",
    "hightech_info": "进入高企认定、科小企评价系统前要完善哪些信息？",
    # other systems
    "overseas_training_account": "因公出国（境）培训用法人还是自然人账号办理？",
    "foreign_expert_old_account": "外国专家项目系统的老账号登录提示密码错误怎么办？",
    "foreign_work_permit": "外国人来华工作许可系统的问题找谁？",
}

# The same questions in English, for English buttons.  The platform's Chinese
# messages stay in Chinese, glossed, as users see them on the screen.
CORE_TOPICS_EN: Dict[str, str] = {
    "forgot_password": 'Forgot my password / "login name or password is wrong"',
    "forgot_login_name": "Forgot my login name, or my registered phone no longer works",
    "id_already_registered": 'My ID or passport number is "already registered"',
    "unit_already_registered": "Our unit name or credit code is already registered",
    "realname_failed": "Real-name verification (实名认证) failed",
    "missing_grant": "No permission / my authorisation expired",
    "garbled_page": "The page is garbled or blank",
    "request_human": "Talk to a person",
}

FAQ_TOPICS_EN: Dict[str, str] = {
    # login and password
    "captcha_wrong": "The login page says the captcha (验证码) is wrong. What can I do?",
    "password_expired": "Logging in says my password has expired. What now?",
    "reset_failed": "The password reset failed, or the new password is still rejected. What can I do?",
    "appeal_duration": "How long does an account recovery appeal take?",
    "appeal_main_agent": "Who is the main agent (主代办人) in a unit's recovery appeal?",
    "unit_renamed_appeal": "Our unit changed its name. How do we recover its account by appeal?",
    "sms_code": "How long is the SMS code valid, and what if it never arrives?",
    # registration
    "register_natural": "How do I register a personal (自然人) account?",
    "register_legal": "How does a unit register a legal-person (法人) account?",
    "account_type": "Should I register a personal or a legal-person account?",
    "login_name_rules": "What format must a login name have?",
    "password_rules": "What are the password rules?",
    "one_document_accounts": "How many accounts can one ID document register?",
    "old_system_users": "Can users of the old systems log in directly?",
    # after login
    "where_to_handle_business": "Where do I handle my business after logging in?",
    "where_to_edit_info": "Where do I change my user information after logging in?",
    "where_to_change_password": "Where do I change my password after logging in?",
    # real-name verification
    "realname_how": "How do I complete real-name verification?",
    "realname_documents": "Which ID documents can be used for real-name verification?",
    "realname_status": "What do the real-name verification statuses mean?",
    "review_duration": "How long does the manual review of uploaded documents take?",
    "upload_requirements": "What are the requirements for document photos?",
    "legal_info_parts": "What parts does the legal-person information have, and which must I fill in?",
    "legal_rep_type_empty": 'Saving says "法定代表人类型不能为空" (legal representative type is empty). What now?',
    "asia_no_china": 'China is missing under "亚洲" (Asia) when I choose the continent. What do I do?',
    # grants
    "how_to_grant": "How does a unit grant access to a personal account?",
    "how_to_change_grant": "How do I change an access grant I already gave?",
    "roles": "What is the difference between unit administrator, item manager and item handler?",
    # general
    "browser": "Which browser should I use?",
    "contact_support": "What are the technical support phone number and e-mail?",
    # technology contracts
    "tech_contract_register": "How does a technology contract party register and open the system?",
    "tech_contract_remark": "The technology contract remark says it has illegal characters. What can I do?",
    # human genetic resources (人遗)
    "hgr_no_download": "There is no download button after submitting a human genetic resources project. Why?",
    "hgr_not_opened": "The human genetic resources online system is not opened (未报备) for us. What do we do?",
    "hgr_project_lost": "Our human genetic resources projects are gone after the unit's name changed. What now?",
    "hgr_staff_left": "How are human genetic resources projects handed over when a staff member leaves?",
    "hgr_backup_mismatch": "The human genetic resources backup number does not match. What do I do?",
    # Torch centre (火炬中心)
    "torch_enterprise_login": "How does a company that used the Torch Centre (high-tech, tech-based SME) log in?",
    "torch_natural_account": "Our company account became a personal account after logging in. What now?",
    "torch_personal_login": "How do I log in to the platform with a personal Torch Centre account?",
    "torch_entry": "Where do I handle other Torch Centre services?",
    "hightech_info": "What must be completed before entering the high-tech or tech-based SME systems?",
    # other systems
    "overseas_training_account": "Overseas training (因公出国(境)培训): legal-person or personal account?",
    "foreign_expert_old_account": "My old foreign expert system account says the password is wrong. What can I do?",
    "foreign_work_permit": "Whom do I ask about the foreigners' work permit system?",
}

TOPICS: Dict[str, Topic] = {
    **{key: Topic(key, question, CORE_TOPICS_EN[key]) for key, question in CORE_TOPICS.items()},
    **{
        f"{FAQ_INTENT}/{key}": Topic(f"{FAQ_INTENT}/{key}", question, FAQ_TOPICS_EN[key])
        for key, question in FAQ_TOPICS.items()
    },
}


def topic_for(key: str) -> Optional[Topic]:
    return TOPICS.get(key)
