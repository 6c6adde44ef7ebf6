"""One located configuration problem, and the error that carries all of them at once.

An admin fixing a file wants every mistake in one run, each pointing at the place to edit
(``file:line:col``) and, where a name was mistyped, the name that was probably meant.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from syncd.errors import ConfigError

__all__ = ["ConfigErrors", "ConfigProblem", "nearest"]


@dataclass(frozen=True)
class ConfigProblem:
    """What is wrong, and where: ``key`` is a path such as ``syncs.shop.fields[2].crm``."""

    file: str
    line: int | None
    column: int | None
    key: str
    message: str
    suggestion: str | None = None

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        hint = f" (did you mean {self.suggestion!r}?)" if self.suggestion else ""
        return f"{where}: {self.key}: {self.message}{hint}"

    def as_dict(self) -> dict[str, Any]:
        """The problem as JSON-ready data, for ``syncd check --json``."""
        return asdict(self)


class ConfigErrors(ConfigError):
    """Every problem found in one configuration; the message has one line per problem."""

    def __init__(self, problems: Sequence[ConfigProblem]) -> None:
        self.problems: list[ConfigProblem] = list(problems)
        super().__init__(
            "\n".join(str(p) for p in self.problems) or "configuration has problems",
            problems=[str(p) for p in self.problems],
        )


def nearest(word: object, choices: Iterable[str]) -> str | None:
    """The valid name closest to a mistyped one, or None when nothing is close."""
    if not isinstance(word, str | int | float):
        return None
    options = list(choices)
    found = difflib.get_close_matches(str(word), options, n=1, cutoff=0.6)
    if found:
        return found[0]
    # A difference of case only is too short for ratio to catch on short words.
    lowered = {choice.lower(): choice for choice in options}
    return lowered.get(str(word).lower())
