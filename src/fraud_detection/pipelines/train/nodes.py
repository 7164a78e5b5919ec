"""Train/test split and the Spark ML pipeline: type indexing, feature assembly, decision tree."""

from __future__ import annotations

from pyspark.ml import Pipeline, PipelineModel
from pyspark.ml.classification import DecisionTreeClassifier
from pyspark.ml.feature import StringIndexer, StringIndexerModel, VectorAssembler
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from fraud_detection.parameters import TrainParams, TrainTestSplit
from fraud_detection.schema import IDENTIFIERS
from fraud_detection.spark_cache import cache

WEIGHT = "classWeight"
LEGIT_WEIGHT = 1.0  # the weight of a legitimate training row; fraud rows weigh more
_TEST = "isTest"
_BUCKETS = 10_000
_BINARY_LABEL = {"ml_attr": {"type": "nominal", "num_vals": 2}}


def _split_column(df: DataFrame, split: TrainTestSplit) -> Column:
    """True for test rows. Random: a seeded hash of the transaction; time: the latest steps."""
    if split.method == "random":
        key = F.xxhash64("nameOrig", "step", "amount", "nameDest", F.lit(split.seed))
        return F.pmod(key, F.lit(_BUCKETS)) < F.lit(int(split.test_fraction * _BUCKETS))
    cutoff = df.select(F.percentile_approx("step", 1.0 - split.test_fraction, 100_000)).first()[0]
    return F.col("step") > F.lit(cutoff)


def split_train_test(
    model_input: DataFrame, params: TrainParams
) -> tuple[DataFrame, DataFrame]:
    """Keep the transaction types where fraud occurs, then split deterministically.

    The kept rows are cached (when first used): the class weights, every pass of the tree
    fit, the evaluation and the model logging read them again, and without the cache each
    of those reads would scan and filter the whole model input table. The identifiers are
    left out of the cache once the split is decided: they are not features, and they are
    the largest columns.
    """
    kept = model_input.where(F.col("type").isin(*params.transaction_types))
    rows = kept.withColumn(_TEST, _split_column(kept, params.split)).drop(*IDENTIFIERS)
    rows = cache(rows)
    return rows.where(~F.col(_TEST)).drop(_TEST), rows.where(F.col(_TEST)).drop(_TEST)


def training_counts(train: DataFrame, categorical: list[str]
                    ) -> tuple[dict[int, int], list[dict[str, int]]]:
    """Training rows per label, and per value of each categorical feature (as text, nulls
    left out, as ``StringIndexer`` counts them): one pass over the rows (grouping sets)."""
    names = ["label", *categorical]
    as_text = (F.col(name).cast("string").alias(name) for name in categorical)
    columns = train.select("label", *as_text)
    rows = columns.groupingSets([[name] for name in names], *names).agg(
        F.count(F.lit(1)).alias("count"), *(F.grouping(name).alias(f"all:{name}") for name in names)
    ).collect()
    by_name: dict[str, dict] = {name: {} for name in names}
    for row in rows:
        name = next(name for name in names if not row[f"all:{name}"])  # its grouping set
        if row[name] is not None:
            by_name[name][row[name]] = row["count"]
    return by_name["label"], [by_name[name] for name in categorical]


def class_weights(label_counts: dict[int, int], class_weight: str | float
                  ) -> tuple[float, float]:
    """Weights of (legitimate, fraud) rows; 'balanced' gives both classes equal total weight."""
    if class_weight != "balanced":
        return LEGIT_WEIGHT, class_weight
    frauds, legit = label_counts.get(1, 0), label_counts.get(0, 0)
    if not frauds or not legit:
        raise ValueError(
            f"model input: the training set needs both classes, found {frauds} fraud and "
            f"{legit} legitimate rows; generate or supply more data"
        )
    return LEGIT_WEIGHT, legit / frauds


def fitted_indexer(indexer: StringIndexer, frequencies: list[dict[str, int]]
                   ) -> StringIndexerModel:
    """What ``indexer.fit`` gives on rows with these value counts, without a pass of its own:
    each column's values by descending count, ties in alphabetical order."""
    labels = [sorted(counts, key=lambda value: (-counts[value], value)) for counts in frequencies]
    return StringIndexerModel.from_arrays_of_labels(
        labels, inputCols=indexer.getInputCols(), outputCols=indexer.getOutputCols(),
        handleInvalid=indexer.getHandleInvalid(),
    )


def build_estimator(params: TrainParams) -> Pipeline:
    """The unfitted Spark ML pipeline described by ``params:train``."""
    categorical = params.categorical_features
    indexed = [f"{name}Index" for name in categorical]
    tree = params.model
    return Pipeline(
        stages=[
            StringIndexer(inputCols=categorical, outputCols=indexed, handleInvalid="keep"),
            VectorAssembler(
                inputCols=[*params.numeric_features, *indexed], outputCol="features"
            ),
            DecisionTreeClassifier(
                labelCol="label",
                featuresCol="features",
                weightCol=WEIGHT,
                maxDepth=tree.max_depth,
                maxBins=tree.max_bins,
                minInstancesPerNode=tree.min_instances_per_node,
                minInfoGain=tree.min_info_gain,
                impurity=tree.impurity,
                seed=tree.seed,
            ),
        ]
    )


def fit_model(train: DataFrame, params: TrainParams) -> PipelineModel:
    """Fit on the training rows, fraud rows weighted by ``train.class_weight``.

    The same fit as ``build_estimator(params).fit(...)``, stage by stage. One pass counts
    the labels (for the class weights) and the categorical values, and the string indexer
    is built from those counts instead of a pass of its own (:func:`fitted_indexer`). The
    decision tree reads its input several times (metadata, split candidates, one pass per
    level), so the indexed and assembled feature vectors are computed once and cached for
    it, instead of being assembled again from the table on every pass.
    """
    label_counts, frequencies = training_counts(train, params.categorical_features)
    legit_weight, fraud_weight = class_weights(label_counts, params.class_weight)
    weighted = train.withColumns({
        # Declared binary (validation refuses any other label), as a StringIndexer would
        # declare it: the tree then takes its number of classes from the column's metadata
        # instead of a pass over the rows to find the largest label.
        "label": F.col("label").alias("label", metadata=_BINARY_LABEL),
        WEIGHT: F.when(F.col("label") == 1, fraud_weight).otherwise(legit_weight),
    })
    indexer, assembler, tree = build_estimator(params).getStages()
    prepare = PipelineModel(stages=[fitted_indexer(indexer, frequencies), assembler])
    features = prepare.transform(weighted).select(
        tree.getLabelCol(), tree.getWeightCol(), tree.getFeaturesCol()
    ).persist()
    try:
        fitted_tree = tree.fit(features)
    finally:
        features.unpersist()
    return PipelineModel(stages=[*prepare.stages, fitted_tree])


def feature_names(model: PipelineModel) -> list[str]:
    """The assembled feature vector's column names, in order."""
    assembler = next(s for s in model.stages if isinstance(s, VectorAssembler))
    return list(assembler.getInputCols())
