"""Row checks of raw transactions: each row's typed values and every problem with it.

Pure column expressions over the fields of :mod:`csv_lines` (or of Spark's CSV reader): a
row is typed and checked in one projection, so validation parses the file once.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from fraud_detection.pipelines.split.csv_lines import LINE
from fraud_detection.schema import CUSTOMER, LABEL, RAW_COLUMNS, TRANSACTION_TYPES

NUMERIC = [name for name, kind in RAW_COLUMNS.items() if kind != "string"]
NON_NEGATIVE = ["amount", "oldbalanceOrg", "newbalanceOrig", "oldbalanceDest", "newbalanceDest"]
SHOWN = 40  # characters of a bad value shown in its reason


@dataclass(frozen=True)
class Batch:
    """What is validated: the catalog names of the input and its quarantine, and whether
    every row must carry a label (training) or may leave it empty (scoring)."""

    dataset: str
    quarantine: str
    label_required: bool


TRAINING = Batch("raw_transactions", "quarantined_transactions", label_required=True)
SCORING = Batch("scoring_transactions", "scoring_quarantined_transactions", label_required=False)


def _cut(text: Column) -> Column:
    """A bad value for a reason: at most ``SHOWN`` characters, then ``...``."""
    return F.when(F.length(text) > SHOWN, F.concat(F.substring(text, 1, SHOWN), F.lit("...")))\
        .otherwise(F.coalesce(text, F.lit("")))


def _parsed(column: str) -> Column:
    kind = RAW_COLUMNS[column]
    if kind == "string":
        return F.trim(F.col(column))
    return F.col(column).try_cast(kind)


ARTICLE = {"int": "an integer", "double": "a number"}


def _said(name: str, what: str, value: bool = True) -> Column:
    """``name: what ('<original text>')``."""
    if not value:
        return F.lit(f"{name}: {what}")
    return F.concat(F.lit(f"{name}: {what} ('"), _cut(F.col(f"raw_{name}")), F.lit("')"))


# A check: (condition, reason) pairs, the first true condition's reason wins. Validation
# counts and splits the rows by the conditions alone (:func:`check_transactions`); the
# reasons' text is built only where a row is shown (:func:`with_problems`), so the pass over
# every row stays small. Both come from the same pairs, so they always agree.
Check = list[tuple[Column, Column]]


def _reason(check: Check) -> Column:
    """The reason of the first true condition; null when none is true."""
    (condition, reason), *rest = check
    text = F.when(condition, reason)
    for condition, reason in rest:
        text = text.when(condition, reason)
    return text


def _fails(check: Check) -> Column:
    """True when some condition of ``check`` is true (a null condition is not)."""
    return F.coalesce(_any(condition for condition, _ in check), F.lit(False))


def _any(conditions) -> Column:
    conditions = list(conditions)
    result = conditions[0]
    for condition in conditions[1:]:
        result = result | condition
    return result


def _number_check(name: str, max_abs: float) -> Check:
    """The problems of a numeric value: not parsed, not finite, too large, out of range."""
    value = F.col(name)
    check = [(value.isNull(), _said(name, f"not {ARTICLE[RAW_COLUMNS[name]]}"))]
    if RAW_COLUMNS[name] == "double":
        bound = f"{max_abs:g}".replace("e+", "e")
        check += [
            (F.isnan(value) | (F.abs(value) == float("inf")), _said(name, "not finite")),
            (F.abs(value) > max_abs,
             _said(name, f"magnitude above split.max_abs_amount={bound}")),
        ]
    if name in NON_NEGATIVE:
        check.append((value < 0, _said(name, "negative", value=False)))
    if name == "step":
        check.append((value < 1, _said(name, "below 1", value=False)))
    if name == "isFlaggedFraud":
        check.append((~value.isin(0, 1), _said(name, "not 0 or 1", value=False)))
    return check


def _label_check(batch: Batch) -> Check | None:
    """Scoring: a label, when given, must be 0 or 1 (training: a file problem, see below)."""
    if batch.label_required:
        return None
    given = F.col(f"raw_{LABEL}").isNotNull()
    return [(given & ~F.coalesce(F.col(LABEL).isin(0, 1), F.lit(False)),
             _said(LABEL, "not 0, 1 or empty"))]


def _value_checks(batch: Batch, max_abs: float) -> list[Check]:
    """The checks of a row's values, in the order of their reasons; a field that is not
    UTF-8 is not checked."""
    checks = [
        *((name, _number_check(name, max_abs)) for name in NUMERIC if name != LABEL),
        *(
            (name, [(F.coalesce(F.col(name), F.lit("")) == "", F.lit(f"{name}: empty"))])
            for name in ("type", CUSTOMER, "nameDest")
        ),
        ("type", [(
            (F.col("type") != "") & ~F.col("type").isin(*TRANSACTION_TYPES),
            F.concat(F.lit("type: unknown value '"), _cut(F.col("type")), F.lit("'")),
        )]),
        (LABEL, _label_check(batch)),
    ]
    return [
        [(_utf8_ok(name) & condition, reason) for condition, reason in check]
        for name, check in checks
        if check is not None
    ]


def _utf8_ok(name: str) -> Column:
    """True when the field ``name`` is valid UTF-8 (its value can be checked)."""
    return F.col("bad_utf8").isNull() | ~F.array_contains(F.col("bad_utf8"), name)


def _shape_check(n_fields: int) -> Check:
    """A row whose shape is wrong (field count, quotes): its values are not where the header
    says, so this is its only reason."""
    return [
        (F.col("fields") != n_fields,
         F.concat(F.lit("row has "), F.col("fields").cast("string"),
                  F.lit(f" fields, the header {n_fields}"))),
        (~F.col("quotes_ok"),
         F.lit("row: its quotes do not pair up (a quoted value may not span lines)")),
    ]


def _row_problems(n_fields: int, batch: Batch, max_abs: float) -> Column:
    """One text per row listing every problem with it; empty when the row is valid."""
    utf8 = F.when(F.col("bad_utf8").isNotNull(), F.array_join(
        F.transform("bad_utf8", lambda name: F.concat(name, F.lit(": not valid UTF-8"))), "; "
    ))
    values = F.concat_ws("; ", utf8, *map(_reason, _value_checks(batch, max_abs)))
    return F.coalesce(_reason(_shape_check(n_fields)), values)


def _row_malformed(n_fields: int, batch: Batch, max_abs: float) -> Column:
    """True exactly when :func:`_row_problems` is not empty, without building its text."""
    utf8 = F.coalesce(F.size("bad_utf8") > 0, F.lit(False))
    checks = [_shape_check(n_fields), *_value_checks(batch, max_abs)]
    return _any([utf8, *map(_fails, checks)])


def _line_facts(raw: DataFrame) -> list[Column]:
    """The line facts of the dataset (see ``csv_lines``); neutral ones for a DataFrame read by
    Spark's CSV reader (no field count, encoding or line number to check)."""
    if LINE in raw.columns:
        return [F.col(f"{LINE}.{name}").alias(name) for name in (
            "fields", "bad_utf8", "quotes_ok", "block", "row", "text")] + [
            F.col(f"{LINE}.file").alias("source_file")]
    return [
        F.lit(len(raw.columns)).alias("fields"),
        F.lit(None).cast("array<string>").alias("bad_utf8"),
        F.lit(True).alias("quotes_ok"),
        F.lit(None).cast("long").alias("block"),
        F.lit(None).cast("long").alias("row"),
        F.lit(None).cast("string").alias("text"),
        F.input_file_name().alias("source_file"),
    ]


def field_count(raw: DataFrame) -> int:
    """How many fields a row of ``raw`` should have: its header's."""
    return len([name for name in raw.columns if name != LINE])


def check_transactions(raw: DataFrame, batch: Batch = TRAINING, max_abs: float = 1e13
                       ) -> DataFrame:
    """Typed columns, the original text of each (``raw_<name>``), the line facts, and for
    each row whether it is ``malformed``, ``shaped`` and (training) has a ``bad_label``.

    Everything :func:`parse_transactions` gives but the reasons' text, which only the
    quarantined rows need (:func:`with_problems`). Header lines (a file's own or one
    repeated, as in concatenated files) and blank lines are not rows.
    """
    n_fields = field_count(raw)
    rows = raw
    if LINE in raw.columns:
        rows = raw.where(~F.col(f"{LINE}.header") & (F.col(f"{LINE}.text") != ""))
    if LABEL not in raw.columns:  # a scoring batch without labels (check_columns allows it)
        rows = rows.withColumn(LABEL, F.lit(None).cast("string"))
    return rows.select(
        *(_parsed(name).alias(name) for name in RAW_COLUMNS),
        *(F.col(name).alias(f"raw_{name}") for name in RAW_COLUMNS),
        *_line_facts(raw),
    ).select(
        "*",
        _row_malformed(n_fields, batch, max_abs).alias("malformed"),
        _shaped(n_fields).alias("shaped"),
        _bad_label(n_fields, batch).alias("bad_label"),
    )


def with_problems(checked: DataFrame, n_fields: int, batch: Batch = TRAINING,
                  max_abs: float = 1e13) -> DataFrame:
    """``checked`` (columns as :func:`check_transactions` names them) with ``problems``: one
    text listing every problem of a row, empty for a row that is not malformed."""
    return checked.withColumn("problems", _row_problems(n_fields, batch, max_abs))


def parse_transactions(raw: DataFrame, batch: Batch = TRAINING, max_abs: float = 1e13
                       ) -> DataFrame:
    """:func:`check_transactions` with the ``problems`` of each row."""
    return with_problems(check_transactions(raw, batch, max_abs), field_count(raw), batch,
                         max_abs)


def malformed() -> Column:
    """True for a row with at least one problem (see :func:`_row_problems`)."""
    return F.col("malformed")


def _shaped(n_fields: int) -> Column:
    """True for a row with as many fields as the header and paired quotes."""
    return (F.col("fields") == n_fields) & F.col("quotes_ok")


def _bad_label(n_fields: int, batch: Batch) -> Column:
    """True for a training row whose label is not 0 or 1 (a file problem, see
    :func:`_check_labels`); rows whose shape or label bytes are wrong are quarantined instead.
    """
    if not batch.label_required:
        return F.lit(False)
    readable = _shaped(n_fields) & (
        F.col("bad_utf8").isNull() | ~F.array_contains(F.col("bad_utf8"), LABEL))
    return readable & (~F.col(LABEL).isin(0, 1) | F.col(LABEL).isNull())
