"""The business systems a unit can grant, and what each of them requires."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

from bot.accounts.checks import InvalidInput, normalise

ITEM_MANAGER = "事项管理员"
ITEM_HANDLER = "事项办理员"
ROLES = (ITEM_MANAGER, ITEM_HANDLER)


@dataclass(frozen=True)
class System:
    key: str
    name: str
    aliases: Tuple[str, ...]
    # Role needed to create projects / file items; None: any granted role.
    handler_role_required: bool = False
    natural_only: bool = False  # 因公出国(境)培训: natural accounts only, after 报备
    needs_other_info: bool = False  # 高企认定 / 科小企评价: 法人单位其他信息 complete
    needs_supervisor: bool = False  # 外国专家系统: the unit's 归口单位 approved it


SYSTEMS: Tuple[System, ...] = (
    System(
        "human_genetic",
        "人类遗传资源管理系统",
        ("人类遗传资源", "人遗", "遗传资源", "人遗系统"),
        handler_role_required=True,
    ),
    System(
        "overseas_training",
        "因公出国（境）培训管理系统",
        ("因公出国", "出国培训", "出国（境）培训", "出国境培训", "引智"),
        natural_only=True,
    ),
    System("foreign_expert", "外国专家项目管理信息系统", ("外国专家", "外专", "外国专家项目"), needs_supervisor=True),
    System("high_tech", "高新技术企业认定管理系统", ("高企", "高新技术企业", "高企认定"), needs_other_info=True),
    System("sme", "科技型中小企业评价系统", ("科小企", "科技型中小企业", "科技型中小企业评价"), needs_other_info=True),
    System("tech_contract", "技术合同管理与服务", ("技术合同", "合同登记", "技术合同登记")),
)
SYSTEM_BY_KEY = {system.key: system for system in SYSTEMS}


def find_system(text: str) -> Optional[System]:
    wanted = normalise(text).replace("(", "（").replace(")", "）")
    for system in SYSTEMS:
        if wanted == system.key or system.name in wanted or any(alias in wanted for alias in system.aliases):
            return system
    return None


def parse_system(text: str) -> System:
    system = find_system(text)
    if system is None:
        raise InvalidInput("没有识别出是哪个系统。请从这些里选一个：" + "、".join(s.name for s in SYSTEMS) + "。")
    return system
