"""What the assistant can talk about, with the question each topic answers.

One entry per core intent and per FAQ answer (``faq/<key>``).  The question is
shown on "did you mean" buttons, and for FAQ topics it is also the button
payload: Rasa cannot address a retrieval sub-intent by ``/intent`` payload, so
the button sends the canonical question, which is one of that topic's training
examples.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional

FAQ_INTENT = "faq"


@dataclass(frozen=True)
class Topic:
    key: str  # intent name, or "faq/<sub-intent>"
    question: str

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

TOPICS: Dict[str, Topic] = {
    **{key: Topic(key, question) for key, question in CORE_TOPICS.items()},
    **{f"{FAQ_INTENT}/{key}": Topic(f"{FAQ_INTENT}/{key}", question) for key, question in FAQ_TOPICS.items()},
}


def topic_for(key: str) -> Optional[Topic]:
    return TOPICS.get(key)
