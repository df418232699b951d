"""How a configuration problem is reported: one line per problem, naming file and key."""

from __future__ import annotations


class ConfigError(Exception):
    """Every problem found in the configuration, one line each, naming file and key."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


def _problem(source: str, key: str, message: str) -> str:
    return f"{source}: {key}: {message}"
