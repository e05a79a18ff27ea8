"""Chooses the topics to offer when the assistant is unsure what was meant."""

from __future__ import annotations

from typing import Any, Dict, List, Tuple

from bot.topics import FAQ_INTENT, Topic, topic_for

MAX_CANDIDATES = 3
MIN_CANDIDATE_SCORE = 0.02


def candidate_topics(parse_data: Dict[str, Any], limit: int = MAX_CANDIDATES) -> List[Topic]:
    """Most likely topics, best first, from the intent and FAQ rankings.

    An FAQ answer's score is the FAQ intent's confidence times the response
    selector's confidence in that answer, so it is comparable to an intent's.
    """
    scored: List[Tuple[float, Topic]] = []
    for ranked in parse_data.get("intent_ranking") or []:
        name, confidence = ranked.get("name"), float(ranked.get("confidence") or 0.0)
        if name == FAQ_INTENT:
            scored.extend(_faq_candidates(parse_data, confidence))
            continue
        topic = topic_for(name or "")
        if topic is not None:
            scored.append((confidence, topic))
    scored.sort(key=lambda pair: pair[0], reverse=True)
    return [topic for score, topic in scored if score >= MIN_CANDIDATE_SCORE][:limit]


def _faq_candidates(parse_data: Dict[str, Any], faq_confidence: float) -> List[Tuple[float, Topic]]:
    selector = (parse_data.get("response_selector") or {}).get(FAQ_INTENT) or {}
    candidates = []
    for ranked in (selector.get("ranking") or [])[:MAX_CANDIDATES]:
        topic = topic_for(ranked.get("intent_response_key") or "")
        if topic is not None:
            candidates.append((faq_confidence * float(ranked.get("confidence") or 0.0), topic))
    return candidates
