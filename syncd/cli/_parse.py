"""Reading the small mini-languages of the command line: ``prop=value`` and ``value=label``.

A malformed item is a usage error (exit 2, reported by click) before the store is opened:
the command was mistyped, nothing was refused.
"""

from __future__ import annotations

import typer

from store import OptionSpec

__all__ = ["parse_assignments", "parse_names", "parse_options", "title_label"]


def parse_assignments(items: list[str] | None, option: str = "--set") -> dict[str, str]:
    """``["email=a@x.com", "phone="]`` -> ``{"email": "a@x.com", "phone": ""}`` (empty clears)."""
    out: dict[str, str] = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise typer.BadParameter(
                f"expected PROPERTY=VALUE (PROPERTY= clears it), got {item!r}",
                param_hint=f"'{option}'",
            )
        if name in out:
            raise typer.BadParameter(f"{name} is given twice", param_hint=f"'{option}'")
        out[name] = value
    return out


def parse_options(items: list[str] | None, option: str = "--option") -> list[OptionSpec]:
    """``["gold=Gold tier"]`` -> options in the order given (that order is the display order)."""
    out: list[OptionSpec] = []
    seen: set[str] = set()
    for item in items or []:
        value, sep, label = item.partition("=")
        value, label = value.strip(), label.strip()
        if not sep or not value or not label:
            raise typer.BadParameter(
                f"expected VALUE=LABEL, got {item!r}", param_hint=f"'{option}'"
            )
        if value in seen:
            raise typer.BadParameter(f"option {value!r} is given twice", param_hint=f"'{option}'")
        seen.add(value)
        out.append(OptionSpec(value=value, label=label, display_order=len(out)))
    return out


def parse_names(text: str | None, option: str = "--properties") -> list[str] | None:
    """``"email,firstname"`` -> ``["email", "firstname"]``; None when not given."""
    if text is None:
        return None
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise typer.BadParameter(
            "give property names separated by commas", param_hint=f"'{option}'"
        )
    return names


def title_label(name: str) -> str:
    """The label a property gets when none is given: ``favourite_colour`` -> ``Favourite Colour``."""
    return name.replace("_", " ").strip().title()
