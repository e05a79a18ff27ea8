"""What the assistant tells the user around a handoff: the agent it was
assigned to, the place in the queue, or the service hours when it is outside
them or nobody of the team is online (``queued_reply``), the return to the assistant with the
rating buttons, the cancellation, and the thanks for a rating (``rating_of``
reads it), and the agent's arrival and replies as the user sees them.  Used by
``actions/handoff.py`` (the request) and ``bot/channels/handoff_bridge.py``
(rating, return, the agent's words); no Rasa here.  What the agent is handed
is ``bot.handoff.request_summary``.

Every reply is in the conversation's ``language`` (``bot.language``; Chinese
when not given), from the ``handoff.*`` catalogue keys; the buttons' payloads
are the same in every language.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Dict, List, Optional

from bot import SUPPORT_EMAIL, SUPPORT_PHONE
from bot.handoff.hours import ServiceHours
from bot.handoff.models import HandoffState
from bot.handoff.service import HandoffService, HandoffView
from bot.language import tr

CANCEL_PAYLOAD = "/cancel_handoff"
RATING_PAYLOAD = re.compile(r"^/rate_handoff\s*([0-9]+)$")
BEST_RATING = 5  # the rating buttons go from it down to 1


@dataclass(frozen=True)
class Reply:
    text: str
    buttons: Optional[List[Dict[str, str]]] = None


def cancel_button(language: Optional[str] = None) -> Dict[str, str]:
    return {"title": tr("handoff.cancel_button", language), "payload": CANCEL_PAYLOAD}


def rating_buttons(language: Optional[str] = None) -> List[Dict[str, str]]:
    return [
        {"title": tr("handoff.rating_button", language, stars=stars), "payload": f"/rate_handoff {stars}"}
        for stars in range(BEST_RATING, 0, -1)
    ]


def contacts(language: Optional[str] = None) -> str:
    return tr("handoff.contacts", language, phone=SUPPORT_PHONE, email=SUPPORT_EMAIL)


# The Chinese buttons, as they were before the catalogues (tests and callers read them).
CANCEL_BUTTON = cancel_button()
RATING_BUTTONS = rating_buttons()
CONTACTS = contacts()


def queued_reply(
    handoffs: HandoffService,
    handoff: HandoffView,
    hours: ServiceHours,
    now: datetime,
    language: Optional[str] = None,
) -> Reply:
    """Tells the user a person is coming: who (auto-assigned), when (outside hours, or
    nobody of the team online: the service hours at once), or their place and an estimate."""
    if handoff.state == HandoffState.ASSIGNED:
        return Reply(tr("handoff.assigned", language, agent=handoff.agent_name))
    if not hours.in_service(now):
        text = tr(
            "handoff.outside_hours",
            language,
            hours=hours.describe(language),
            next_opening=hours.next_opening_phrase(now, language),
            contacts=contacts(language),
        )
        return Reply(text, [cancel_button(language)])
    if not handoffs.available_agents(handoff.team_id):
        who = (
            tr("handoff.team_agents", language, team=handoff.team_name)
            if handoff.team_name
            else tr("handoff.any_agents", language)
        )
        text = tr(
            "handoff.nobody_online", language, who=who, hours=hours.describe(language), contacts=contacts(language)
        )
        return Reply(text, [cancel_button(language)])
    position = handoffs.position(handoff.id) or 1
    ahead = (
        tr("handoff.nobody_ahead", language)
        if position == 1
        else tr("handoff.people_ahead", language, count=position - 1)
    )
    minutes = handoffs.estimated_wait_minutes(position)
    return Reply(tr("handoff.queued", language, ahead=ahead, minutes=minutes), [cancel_button(language)])


def back_to_assistant(language: Optional[str] = None) -> Reply:
    """The agent handed the conversation back: the assistant speaks again and asks for a rating."""
    return Reply(tr("handoff.back_to_assistant", language, best=BEST_RATING), rating_buttons(language))


def cancelled(language: Optional[str] = None) -> Reply:
    return Reply(tr("handoff.cancelled", language))


def agent_joined(agent_name: str, language: Optional[str] = None) -> Reply:
    return Reply(tr("handoff.agent_joined", language, agent=agent_name))


def agent_says(agent_name: str, text: str, language: Optional[str] = None) -> Reply:
    """An agent's reply as the user reads it: who wrote it, then the words as written."""
    return Reply(tr("handoff.agent_says", language, agent=agent_name, text=text))


BACK_TO_ASSISTANT = back_to_assistant()
CANCELLED = cancelled()


def rating_of(text: str) -> Optional[int]:
    match = RATING_PAYLOAD.match((text or "").strip())
    return int(match.group(1)) if match else None


def thanks_for(rating: int, language: Optional[str] = None) -> Reply:
    return Reply(tr("handoff.thanks_low" if rating <= 2 else "handoff.thanks", language, rating=rating))
