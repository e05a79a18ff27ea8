#!/bin/sh
# The image's entry point (deploy/Dockerfile): the settings as `python -m bot env` computes
# them (endpoints.yml's ${...} placeholders), then one role:
#   rasa     the Rasa server on BIND_HOST:RASA_PORT with MODEL_PATH (default)
#   actions  the action server on BIND_HOST:ACTIONS_PORT (bot/action_server.py)
#   migrate  the database schema (python -m bot db upgrade), once before the servers
# Anything else runs as given (e.g. `python -m bot privacy purge`).
set -eu
eval "$(python -m bot env)"
case "${1:-rasa}" in
    rasa)
        exec rasa run --model "$MODEL_PATH" --endpoints endpoints.yml --credentials credentials.yml \
            --interface "$BIND_HOST" --port "$RASA_PORT" ;;
    actions)
        exec python -m bot.action_server ;;
    migrate)
        exec python -m bot db upgrade ;;
    *)
        exec "$@" ;;
esac
