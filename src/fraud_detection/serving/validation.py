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

import numpy as np
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
    """:func:`row_problems` of every row of a request.

    Most rows of a request are valid: a vectorized pass over the columns (:func:`_clean`)
    finds the rows that certainly are, and only the others go through :func:`row_problems`,
    which words their problems. The pass is conservative: whatever it cannot prove valid (a
    column missing or of an unexpected type, a value it does not recognize) is checked row
    by row, so the texts are :func:`row_problems`' in every case.
    """
    return problems_in(columns_of(rows), len(rows), max_abs)


def columns_of(rows: pd.DataFrame) -> dict[str, np.ndarray]:
    """The request's raw columns as arrays (one DataFrame access each: pandas' per-access
    cost is larger than a small request's work)."""
    return {name: rows[name].to_numpy() for name in RAW_COLUMNS if name in rows}


def problems_in(columns: dict[str, np.ndarray], n: int, max_abs: float = DEFAULT_MAX_ABS
                ) -> list[str]:
    """:func:`problems_of` of ``n`` rows given as :func:`columns_of` arrays."""
    clean = _clean(columns, n, max_abs)
    problems = [""] * n
    suspects = np.flatnonzero(~clean).tolist()
    if suspects:  # Python values, as the JSON carried them (a numpy scalar prints otherwise)
        values = {name: column.tolist() for name, column in columns.items()}
        for i in suspects:
            problems[i] = row_problems({name: v[i] for name, v in values.items()}, max_abs)
    return problems


def _clean(columns: dict[str, np.ndarray], n: int, max_abs: float) -> np.ndarray:
    """Which rows certainly pass every rule of :func:`row_problems` (``False``: check it)."""
    clean = np.ones(n, dtype=bool)
    for name in NUMERIC:
        values = _floats(columns.get(name))
        if name == LABEL:  # optional: absent, null, 0 or 1
            if name in columns:
                clean &= values is not None and (np.isnan(values) | (values == 0.0)
                                                 | (values == 1.0))
            continue
        if values is None:
            return np.zeros(n, dtype=bool)
        with np.errstate(invalid="ignore"):
            clean &= _number_clean(name, values, max_abs)
    for name in TEXT:
        if name not in columns:
            return np.zeros(n, dtype=bool)
        allowed = TRANSACTION_TYPES if name == "type" else None
        clean &= np.fromiter((_text_clean(v, allowed) for v in columns[name].tolist()),
                             dtype=bool, count=n)
    return clean


def _floats(values: np.ndarray | None) -> np.ndarray | None:
    """A numeric column as float64, as ``float(value)`` reads each value; ``None`` when its
    type (object, bool, text) needs the row-by-row check."""
    if values is None or values.dtype.kind not in "fiu":
        return None
    return values.astype("float64", copy=False)


def _number_clean(name: str, values: np.ndarray, max_abs: float) -> np.ndarray:
    """:func:`number_problem` finds nothing (NaN fails every comparison, so nulls and NaN
    are left to it)."""
    clean = np.isfinite(values)
    if RAW_COLUMNS[name] == "double":
        clean &= np.abs(values) <= max_abs
    else:
        clean &= (np.floor(values) == values) & (values >= -2.0**31) & (values < 2.0**31)
    if name in NON_NEGATIVE:
        clean &= values >= 0.0
    if name == "step":
        clean &= values >= 1.0
    if name == "isFlaggedFraud":
        clean &= (values == 0.0) | (values == 1.0)
    return clean


def _text_clean(value: Any, allowed: tuple[str, ...] | None) -> bool:
    """A text value with something besides spaces (and, for ``type``, a known type)."""
    if type(value) is not str:
        return False
    text = value.strip(" ")
    return text != "" and (allowed is None or text in allowed)
