"""Custom NLU components of the assistant's pipeline (see config.yml)."""
