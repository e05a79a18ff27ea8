"""Builders of tracker events and trackers for action tests."""
from typing import Any, Dict, List, Optional

from rasa_sdk import Tracker


def user(text: str, intent: str, confidence: float = 0.99, **parse_extra: Any) -> Dict[str, Any]:
    parse_data = {"text": text, "intent": {"name": intent, "confidence": confidence}}
    parse_data.update(parse_extra)
    return {"event": "user", "text": text, "parse_data": parse_data}


def action(name: str) -> Dict[str, Any]:
    return {"event": "action", "name": name}


def tracker_of(events: List[Dict[str, Any]], sender_id: str = "test-user") -> Tracker:
    latest: Optional[Dict[str, Any]] = None
    for event in reversed(events):
        if event["event"] == "user":
            latest = dict(event["parse_data"], text=event["text"])
            break
    return Tracker(sender_id, {}, latest or {}, events, False, None, {}, "action_listen")
