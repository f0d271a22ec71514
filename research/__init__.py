"""The research scripts behind docs/findings.md: sweeps, held-out checks and before/after
comparisons that measure the paper's claims with hpsweep. They are not part of the installed
package; run them from a checkout's root as modules, e.g. `python -m research.findings --help`.
bench/ holds the performance benchmarks."""
