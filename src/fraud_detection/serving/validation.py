"""The batch validation rules (``pipelines/split``) for the rows of a request, in pandas.

Batch scoring quarantines a malformed row with the text of every problem it has; an online
request gets the same text in the row's ``unscored_reason`` (``invalid: amount: negative``)
instead of an error for the whole request. The rules and their wording are the batch's,
column for column and in the same order; ``tests/serving/test_validation_agrees.py`` runs
both on the same random rows and compares the texts.

A request's values are already typed (JSON numbers, strings, nulls): a null stands for an
empty field, and a value is shown as the CSV text that would carry it.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from fraud_detection.schema import CUSTOMER, LABEL, RAW_COLUMNS, TRANSACTION_TYPES

NUMERIC = [name for name, kind in RAW_COLUMNS.items() if kind != "string"]
NON_NEGATIVE = ("amount", "oldbalanceOrg", "newbalanceOrig", "oldbalanceDest", "newbalanceDest")
TEXT = ("type", CUSTOMER, "nameDest")
SHOWN = 40  # characters of a bad value shown in its reason (split's SHOWN)
DEFAULT_MAX_ABS = 1e13  # split.max_abs_amount's default
_ARTICLE = {"int": "an integer", "double": "a number"}


def is_missing(value: Any) -> bool:
    """A JSON null, or the NaN pandas turns it into in a numeric column."""
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def as_text(value: Any) -> str:
    """The CSV field that carries ``value``: empty for a null, ``Infinity`` as Java writes it,
    an integral number without ``.0``, any other number as Python's shortest repr."""
    if is_missing(value):
        return ""
    if isinstance(value, float):
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        if value.is_integer() and abs(value) < 2**63:
            return str(int(value))
        return repr(value)
    return str(value)


def _cut(text: str) -> str:
    return text[:SHOWN] + "..." if len(text) > SHOWN else text


def _said(name: str, what: str, value: Any = None, show: bool = True) -> str:
    return f"{name}: {what} ('{_cut(as_text(value))}')" if show else f"{name}: {what}"


def _number(value: Any, kind: str) -> float | None:
    """The value as the batch's ``try_cast`` parses it; ``None`` when it would not parse."""
    if is_missing(value) or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if kind == "int" and not (math.isfinite(number) and number.is_integer()
                              and -2**31 <= number < 2**31):
        return None
    return number


def number_problem(name: str, value: Any, max_abs: float) -> str | None:
    """The first problem of a numeric value: not parsed, not finite, too large, out of range."""
    kind = RAW_COLUMNS[name]
    number = _number(value, kind)
    if number is None:
        return _said(name, f"not {_ARTICLE[kind]}", value)
    if kind == "double":
        if not math.isfinite(number):
            return _said(name, "not finite", value)
        if abs(number) > max_abs:
            bound = f"{max_abs:g}".replace("e+", "e")
            return _said(name, f"magnitude above split.max_abs_amount={bound}", value)
    if name in NON_NEGATIVE and number < 0:
        return _said(name, "negative", show=False)
    if name == "step" and number < 1:
        return _said(name, "below 1", show=False)
    if name == "isFlaggedFraud" and number not in (0, 1):
        return _said(name, "not 0 or 1", show=False)
    return None


def trimmed(value: Any) -> str:
    """A text value as the batch reads it: spaces trimmed (Spark's ``trim``), null as empty."""
    return "" if is_missing(value) else str(value).strip(" ")


def row_problems(row: dict[str, Any], max_abs: float = DEFAULT_MAX_ABS) -> str:
    """Every problem of one row, joined by ``"; "`` as the batch's quarantine lists them;
    empty when the row is valid. ``isFraud`` may be absent or null (a scoring batch)."""
    problems = [number_problem(name, row.get(name), max_abs) for name in NUMERIC
                if name != LABEL]
    problems += [f"{name}: empty" if trimmed(row.get(name)) == "" else None for name in TEXT]
    kind = trimmed(row.get("type"))
    if kind and kind not in TRANSACTION_TYPES:
        problems.append(f"type: unknown value '{_cut(kind)}'")
    label = row.get(LABEL)
    if not is_missing(label) and _number(label, "int") not in (0, 1):
        problems.append(_said(LABEL, "not 0, 1 or empty", label))
    return "; ".join(p for p in problems if p)


def problems_of(rows: pd.DataFrame, max_abs: float = DEFAULT_MAX_ABS) -> list[str]:
    """:func:`row_problems` of every row of a request (read column by column: a request is
    small, and pandas' row access costs more than the checks)."""
    names = [name for name in RAW_COLUMNS if name in rows]
    columns = [rows[name].tolist() for name in names]
    return [row_problems(dict(zip(names, values)), max_abs) for values in zip(*columns)]
