"""Custom actions of the assistant. Each module holds one concern; the logic
they use lives in ``bot/`` so it can be tested without Rasa."""
