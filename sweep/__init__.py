"""The coordinator: specs, planning, Ray Tune, the results store and the CLI.

Nothing here imports ray at package import time; only the Tune adapter does, when a sweep runs.
"""
