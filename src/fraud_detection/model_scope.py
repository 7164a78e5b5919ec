"""A model version's scope: the transaction types it was trained on, and the rule for the rest.

The training pipeline keeps only ``train.transaction_types`` (fraud occurs only in TRANSFER and
CASH_OUT in PaySim), so a model has never seen a PAYMENT, CASH_IN or DEBIT row and its
probability for one means nothing (a real PAYMENT row of the Kaggle file scored 0.99997).
The scope is recorded with every version (the logged model's metadata, a tag on the version
and on its training run, all under :data:`SCOPE_KEY`), and every scorer, batch or online,
applies the same rule: a row of another type gets no probability and no decision, only the
reason :func:`out_of_scope_reason` gives.
"""

from __future__ import annotations

from collections.abc import Iterable

from fraud_detection.schema import TRANSACTION_TYPES

# The key of the scope in the logged model's metadata, and of the version's and run's tag.
SCOPE_KEY = "transaction_types"
OUT_OF_SCOPE = "out_of_scope"
OUT_OF_SCOPE_PREFIX = f"{OUT_OF_SCOPE}: "


def scope_tag(types: Iterable[str]) -> str:
    """The tag value of a scope: its types sorted and joined by commas (``CASH_OUT,TRANSFER``),
    so equal scopes have equal tags and a registry search can filter on them."""
    return ",".join(normalized(types))


def normalized(types: Iterable[str]) -> tuple[str, ...]:
    """The distinct types, sorted; an error naming the value when one is not a PaySim type."""
    found = tuple(sorted({str(t).strip() for t in types}))
    unknown = [t for t in found if t not in TRANSACTION_TYPES]
    if unknown or not found:
        what = f"{', '.join(map(repr, unknown))} is not a transaction type" if unknown else (
            "lists no type")
        raise ValueError(f"model scope {SCOPE_KEY!r}: {what}; the scope lists one or more "
                         f"of {', '.join(TRANSACTION_TYPES)}")
    return found


def parse_scope(value: str | Iterable[str] | None) -> tuple[str, ...] | None:
    """The scope recorded as a tag (``CASH_OUT,TRANSFER``) or metadata (a list); ``None`` when
    nothing was recorded (a version registered before scopes were)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    types = value.split(",") if isinstance(value, str) else value
    return normalized(types)


def out_of_scope_reason(transaction_type: str | None) -> str:
    """Why a row was not scored: ``out_of_scope: PAYMENT`` (``out_of_scope: null`` without a
    type, which validation never lets through)."""
    return f"{OUT_OF_SCOPE_PREFIX}{'null' if transaction_type is None else transaction_type}"


def unscored_reason(transaction_type: str | None, scope: tuple[str, ...] | None) -> str | None:
    """``None`` when a model of ``scope`` scores a row of this type (every type when the scope
    is unknown), else the reason it does not."""
    if scope is None or transaction_type in scope:
        return None
    return out_of_scope_reason(transaction_type)
