"""Analysis of sweep results: load the trials with Polars, fit and evaluate meta-models
leave-one-task-out, rank the balance metrics, recommend densities for new dims, write the report.

Modules: load (lazy scan, final row per trial), features (a-priori pl.Expr), metamodels
(scikit-learn Pipelines), evaluate (leave-one-task-out metrics), balance (metric ranking),
analyze (the whole analysis), saved (models beside the results), recommend, report, synthetic
(results with known structure for tests and the benchmark). Imports workers.descriptors,
workers.schema and workers.errors only: no torch, no ray, no sweep.
"""
