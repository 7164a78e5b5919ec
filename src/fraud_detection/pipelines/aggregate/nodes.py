"""Features a fraud analyst looks at, computed with Spark in one pass per customer.

Customer history features use only the customer's *earlier* transactions (a window that
ends one row before the current one), so a transaction never sees its own amount or the
future: the features are what a scorer would know at the moment of the transaction, and
a time-based evaluation stays honest.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from fraud_detection.parameters import AggregateParams
from fraud_detection.schema import (
    CUSTOMER,
    CUSTOMER_ORDER,
    HISTORY_FEATURES,
    LABEL,
    RAW_COLUMNS,
    TRANSACTION_FEATURES,
)


def transaction_features(transactions: DataFrame, balance_tolerance: float) -> DataFrame:
    """Balance-error and account-emptying signals of each transaction on its own."""
    amount, old_orig, new_orig = F.col("amount"), F.col("oldbalanceOrg"), F.col("newbalanceOrig")
    old_dest, new_dest = F.col("oldbalanceDest"), F.col("newbalanceDest")
    return transactions.select(
        "*",
        (new_orig + amount - old_orig).alias("errorBalanceOrig"),
        (old_dest + amount - new_dest).alias("errorBalanceDest"),
        ((old_orig > balance_tolerance) & (new_orig <= balance_tolerance))
        .cast("int")
        .alias("emptiesOrigin"),
        ((old_dest <= balance_tolerance) & (new_dest <= balance_tolerance))
        .cast("int")
        .alias("destBalancesZero"),
        (amount / F.greatest(old_orig, F.lit(1.0))).alias("amountToOrigBalance"),
        (F.col("step") % 24).alias("hourOfDay"),
    )


def _share_of(kind: str, window) -> Column:
    return F.avg((F.col("type") == kind).cast("double")).over(window)


def history_features(transactions: DataFrame) -> DataFrame:
    """Statistics of each customer's earlier transactions, joined to every transaction.

    Input laid out by ``split.lay_out_by_customer`` (the validated rows of the same run, cached
    by the split) is already partitioned and sorted as this window needs: no shuffle, no sort.
    """
    by_customer = Window.partitionBy(CUSTOMER).orderBy(*CUSTOMER_ORDER[1:])
    earlier = by_customer.rowsBetween(Window.unboundedPreceding, -1)
    prior_mean = F.avg("amount").over(earlier)
    with_history = transactions.select(
        "*",
        F.count(F.lit(1)).over(earlier).alias("custPriorTxnCount"),
        F.coalesce(prior_mean, F.lit(0.0)).alias("custPriorAmountMean"),
        F.coalesce(F.max("amount").over(earlier), F.lit(0.0)).alias("custPriorAmountMax"),
        F.coalesce(F.stddev_samp("amount").over(earlier), F.lit(0.0)).alias("custPriorAmountStd"),
        F.coalesce(_share_of("TRANSFER", earlier), F.lit(0.0)).alias("custPriorTransferShare"),
        F.coalesce(_share_of("CASH_OUT", earlier), F.lit(0.0)).alias("custPriorCashOutShare"),
        F.coalesce(F.col("step") - F.lag("step").over(by_customer), F.lit(-1)).alias(
            "custStepsSincePrev"
        ),
        F.coalesce(F.col("amount") / prior_mean, F.lit(-1.0)).alias("amountToCustPriorMean"),
    )
    return with_history


def build_model_input_table(shards: DataFrame, params: AggregateParams) -> DataFrame:
    """Raw columns, transaction and history features and ``label``, one row per transaction.

    A scoring batch may come without ``isFraud``: ``label`` (and ``isFraud``) are then null.
    """
    if LABEL not in shards.columns:
        shards = shards.withColumn(LABEL, F.lit(None).cast("int"))
    # History first: the window shuffles and sorts its input, so the per-transaction
    # features are computed after it, on the way out, instead of travelling through it.
    features = transaction_features(
        history_features(shards.select(*RAW_COLUMNS)), params.balance_tolerance
    )
    return features.select(
        *RAW_COLUMNS,
        *TRANSACTION_FEATURES,
        *HISTORY_FEATURES,
        F.col(LABEL).cast("int").alias("label"),
    )
