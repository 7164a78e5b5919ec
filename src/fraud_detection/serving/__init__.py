"""Online scoring without a JVM: the model input features, the validation of raw rows and the
fitted decision tree, evaluated with numpy and pandas only.

Nothing here imports pyspark: this package is copied into every logged model (its
``python_function`` flavor) and runs in a serving process that has no Java. The Spark side
(:mod:`fraud_detection.pipelines.aggregate`, the fitted ``PipelineModel``) stays the one
definition; tests hold the two paths equal on the same rows.
"""
