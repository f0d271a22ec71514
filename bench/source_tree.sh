# Source this (`. bench/source_tree.sh`, repo root) to import hpsweep from this checkout without
# installing it, e.g. on a bare GPU box that has torch and pyarrow but no pip access to PyPI.
# pyproject.toml maps api/ -> hpsweep and sweep/, workers/, analysis/ -> hpsweep.*; a tree of
# symbolic links in a temporary directory reproduces that mapping, and PYTHONPATH points at it.
_hpsweep_links=$(mktemp -d)/hpsweep
mkdir -p "$_hpsweep_links"
for _f in "$PWD"/api/*; do ln -s "$_f" "$_hpsweep_links/"; done
for _d in sweep workers analysis; do ln -s "$PWD/$_d" "$_hpsweep_links/$_d"; done
export PYTHONPATH="$(dirname "$_hpsweep_links")${PYTHONPATH:+:$PYTHONPATH}"
unset _hpsweep_links _f _d
