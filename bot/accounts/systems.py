"""The business systems a unit can grant, and what each of them requires."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from bot.accounts.checks import InvalidInput, listed, normalise
from bot.language import tr

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
        ("人类遗传资源", "人遗", "遗传资源", "人遗系统", "humangenetic", "hgr"),
        handler_role_required=True,
    ),
    System(
        "overseas_training",
        "因公出国（境）培训管理系统",
        ("因公出国", "出国培训", "出国（境）培训", "出国境培训", "引智", "overseastraining", "outboundtraining"),
        natural_only=True,
    ),
    System(
        "foreign_expert",
        "外国专家项目管理信息系统",
        ("外国专家", "外专", "外国专家项目", "foreignexpert"),
        needs_supervisor=True,
    ),
    System(
        "high_tech",
        "高新技术企业认定管理系统",
        ("高企", "高新技术企业", "高企认定", "hightech", "high-tech"),
        needs_other_info=True,
    ),
    System(
        "sme",
        "科技型中小企业评价系统",
        ("科小企", "科技型中小企业", "科技型中小企业评价", "sme"),
        needs_other_info=True,
    ),
    System(
        "tech_contract",
        "技术合同管理与服务",
        ("技术合同", "合同登记", "技术合同登记", "techcontract", "technologycontract"),
    ),
)
SYSTEM_BY_KEY = {system.key: system for system in SYSTEMS}
# Each system's catalogue key: its name as users read it (Chinese: the name above; English: an
# English name with the Chinese one beside, which is what the platform's pages show).
SYSTEM_NAME_KEYS: Dict[str, str] = {
    "human_genetic": "checks.system_human_genetic",
    "overseas_training": "checks.system_overseas_training",
    "foreign_expert": "checks.system_foreign_expert",
    "high_tech": "checks.system_high_tech",
    "sme": "checks.system_sme",
    "tech_contract": "checks.system_tech_contract",
}


# The roles' catalogue keys (English: the platform's role name with a gloss).
ROLE_KEYS: Dict[str, str] = {ITEM_MANAGER: "checks.role_item_manager", ITEM_HANDLER: "checks.role_item_handler"}


def role_name(role: str, language: str) -> str:
    """A role as users of ``language`` read it (a role the platform added later: as it is)."""
    key = ROLE_KEYS.get(role)
    return tr(key, language) if key else role


def system_name(system: System, language: str) -> str:
    return tr(SYSTEM_NAME_KEYS[system.key], language)


def system_names(language: str) -> List[str]:
    return [system_name(system, language) for system in SYSTEMS]


def find_system(text: str) -> Optional[System]:
    # Lower case for the English aliases (written without blanks, as normalise leaves the input).
    wanted = normalise(text).replace("(", "（").replace(")", "）").lower()
    for system in SYSTEMS:
        if wanted == system.key or system.name in wanted or any(alias in wanted for alias in system.aliases):
            return system
    return None


def parse_system(text: str) -> System:
    system = find_system(text)
    if system is None:
        raise InvalidInput.of("checks.system_unknown", systems=listed(system_names))
    return system
