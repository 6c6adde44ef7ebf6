"""``syncd associations`` and ``syncd labels``: typed links between records, and their labels.

Labels are per object pair and direction; a paired label (Manager/Employee) reads one way
from each side, so ``associations list`` shows each record's own view of the link.
"""

from __future__ import annotations

from typing import Annotated

import typer

from store import AssociationLabel
from syncd.cli._context import CLI_SOURCE, get_state
from syncd.cli._output import emit_json, info, print_table, warn
from syncd.cli._shapes import association_json, label_json

__all__ = ["associations_app", "labels_app"]

associations_app = typer.Typer(help="Link records: create, list, remove.", no_args_is_help=True)
labels_app = typer.Typer(help="Association labels between two objects.", no_args_is_help=True)

ObjectArg = Annotated[str, typer.Argument(metavar="OBJECT")]
FromObject = Annotated[str, typer.Argument(metavar="FROM_OBJECT")]
FromId = Annotated[int, typer.Argument(metavar="FROM_ID")]
ToObject = Annotated[str, typer.Argument(metavar="TO_OBJECT")]
ToId = Annotated[int, typer.Argument(metavar="TO_ID")]
LabelOpt = Annotated[
    str | None, typer.Option("--label", help="Association label; default: the unlabelled type.")
]


def _label_text(label: str | None) -> str:
    return label if label is not None else "(default)"


@associations_app.command("create")
def create(
    ctx: typer.Context,
    from_object: FromObject,
    from_id: FromId,
    to_object: ToObject,
    to_id: ToId,
    label: LabelOpt = None,
) -> None:
    """Associate two records, with a label if given (both directions are stored)."""
    state = get_state(ctx)
    with state.open_store() as store:
        chosen = store.associate(from_object, from_id, to_object, to_id, CLI_SOURCE, label=label)
    if state.json:
        emit_json(label_json(chosen))
    else:
        info(
            f"associated {chosen.from_object} {from_id} → {chosen.to_object} {to_id} "
            f"as {_label_text(chosen.label)}"
        )


@associations_app.command("list")
def list_(
    ctx: typer.Context,
    object_name: ObjectArg,
    record_id: Annotated[int, typer.Argument(metavar="ID")],
    to: Annotated[
        str | None, typer.Option("--to", metavar="OBJECT", help="Only this object.")
    ] = None,
) -> None:
    """A record's associations with live records, with each link's labels."""
    state = get_state(ctx)
    with state.open_store() as store:
        found = store.list_associations(object_name, record_id, to)
    if state.json:
        emit_json([association_json(a) for a in found])
        return
    print_table(
        ["object", "id", "labels"],
        ((a.to_object, a.to_id, ", ".join(_label_text(x.label) for x in a.labels)) for a in found),
        title=f"associations of {object_name} {record_id}",
    )


@associations_app.command("remove")
def remove(
    ctx: typer.Context,
    from_object: FromObject,
    from_id: FromId,
    to_object: ToObject,
    to_id: ToId,
    label: Annotated[
        str | None, typer.Option("--label", help="Remove only this label (default: every link).")
    ] = None,
) -> None:
    """Remove one label between two records, or without --label every link between them."""
    state = get_state(ctx)
    with state.open_store() as store:
        removed = store.dissociate(from_object, from_id, to_object, to_id, CLI_SOURCE, label=label)
    if state.json:
        emit_json({"removed": removed})
    elif removed:
        info(
            f"removed {removed} link row(s) between {from_object} {from_id} and {to_object} {to_id}"
        )
    else:
        warn(f"{from_object} {from_id} and {to_object} {to_id} had no such association")


def _print_labels(labels: list[AssociationLabel], title: str) -> None:
    print_table(
        ["type id", "from", "to", "label", "category", "inverse type id"],
        (
            (
                x.type_id,
                x.from_object,
                x.to_object,
                _label_text(x.label),
                x.category,
                x.inverse_type_id,
            )
            for x in labels
        ),
        title=title,
    )


@labels_app.command("create")
def create_label(
    ctx: typer.Context,
    from_object: FromObject,
    to_object: ToObject,
    label: Annotated[str, typer.Option("--label", help="The label read from FROM_OBJECT.")],
    inverse: Annotated[
        str | None, typer.Option("--inverse", help="The label read back from TO_OBJECT.")
    ] = None,
) -> None:
    """Define a label between two objects, with its inverse (Manager / Employee)."""
    state = get_state(ctx)
    with state.open_store() as store:
        created = store.create_label(from_object, to_object, label, inverse)
    if state.json:
        emit_json([label_json(x) for x in created])
    else:
        _print_labels(created, "labels created")


@labels_app.command("list")
def list_labels(ctx: typer.Context, from_object: FromObject, to_object: ToObject) -> None:
    """The association types from one object to another, labelled and default."""
    state = get_state(ctx)
    with state.open_store() as store:
        labels = store.list_labels(from_object, to_object)
    if state.json:
        emit_json([label_json(x) for x in labels])
    else:
        _print_labels(labels, f"labels {from_object} → {to_object}")
