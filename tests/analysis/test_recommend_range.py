"""recommend answers everywhere inside the swept range of every feature and up to 2x beyond it, exact at
both edges (no float drift), and a refusal names the feature, value, swept range and nearest answer."""

import math

import pytest

from hpsweep.analysis.recommend import answered_range, check_support, recommend
from hpsweep.analysis.saved import load_or_fit
from hpsweep.workers.errors import AnalysisError


def _bundle(**swept):
    return {"n_tasks": 5, "swept": swept}


def _drifted(v):
    """A bound as analyze saved it before: exp(ln v), a hair off v (500 -> 499.99999999999983)."""
    return float(math.exp(math.log(v)))


def test_the_drifted_bound_that_refused_exactly_twice_is_real():
    assert _drifted(500) < 500 and _drifted(500) * 2 < 1000  # why n_train 1000 was refused against 500..500


@pytest.mark.parametrize("bound", [500, _drifted(500)])
def test_exactly_twice_and_exactly_half_are_answered_one_beyond_is_refused(bound):
    b = _bundle(n_train=[bound, bound])
    check_support(b, n_train=1000)  # exactly 2x: answered
    check_support(b, n_train=250)  # exactly half: answered
    with pytest.raises(AnalysisError) as e:
        check_support(b, n_train=1001)
    assert str(e.value) == (
        "n_train 1001 is outside what the results can answer for (swept 500..500; answers up to 1000): "
        "the nearest it answers for is n_train=1000; sweep tasks nearer to 1001 to go further"
    )
    with pytest.raises(AnalysisError) as e:
        check_support(b, n_train=249)
    assert str(e.value) == (
        "n_train 249 is outside what the results can answer for (swept 500..500; answers down to 250): "
        "the nearest it answers for is n_train=250; sweep tasks nearer to 249 to go further"
    )


def test_the_brief_example_and_inside_the_range_everywhere():
    b = _bundle(n_train=[_drifted(250), _drifted(8000)])
    for v in (125, 250, 251, 1234, 7999, 8000, 16000):
        check_support(b, n_train=v)
    with pytest.raises(AnalysisError) as e:
        check_support(b, n_train=40000)
    assert str(e.value).startswith(
        "n_train 40000 is outside what the results can answer for (swept 250..8000; answers up to 16000): "
        "the nearest it answers for is n_train=16000"
    )


def test_an_odd_integer_bound_answers_whole_numbers_only():
    """seq_len swept from 5: 2.5 is not a length; 3 (3 x 2 >= 5) is the nearest answered."""
    assert answered_range("seq_len", 5, 50) == (3, 100)
    b = _bundle(seq_len=[5, 50])
    check_support(b, seq_len=3)
    with pytest.raises(AnalysisError, match=r"^seq_len 2 is .*\(swept 5..50; answers down to 3\): .* seq_len=3;"):
        check_support(b, seq_len=2)


@pytest.mark.parametrize(
    "value, refused",
    [
        (750.0, None),
        (749.99, "down to 750): the nearest it answers for is budget=750;"),
        (200_000, None),
        (200_000.5, "up to 200000): the nearest it answers for is budget=200000;"),
    ],
)
def test_budget_edges_are_exact_for_drifted_and_fractional_bounds(value, refused):
    b = _bundle(budget=[_drifted(1500), _drifted(100_000)])
    if refused is None:
        check_support(b, budget=value)
    else:
        with pytest.raises(AnalysisError) as e:
            check_support(b, budget=value)
        assert refused in str(e.value) and "(swept 1500..100000;" in str(e.value)
    half = _bundle(budget=[1501.0, 1501.0])  # an odd budget: half is a fraction, shown as typed
    check_support(half, budget=750.5)
    with pytest.raises(AnalysisError) as e:
        check_support(half, budget=750.4)
    assert "answers down to 750.5): the nearest it answers for is budget=750.5;" in str(e.value)


def test_dims_refused_with_the_nearest_dim(synth_root):
    bundle = load_or_fit(synth_root)[0]
    lo, hi = bundle["swept"]["input_dim"]
    assert isinstance(lo, int) and isinstance(hi, int)
    recommend(bundle, hi * 2, 5, 60_000)  # exactly 2x the largest swept |x|: answered
    with pytest.raises(AnalysisError) as e:
        recommend(bundle, hi * 2 + 1, 5, 60_000)
    assert str(e.value) == (
        f"input_dim {hi * 2 + 1} is outside what the results can answer for (swept {lo}..{hi}; answers up to "
        f"{hi * 2}): the nearest it answers for is input_dim={hi * 2}; sweep tasks nearer to {hi * 2 + 1} to go further"
    )
    # analyze now saves integer features as the integers swept (synthetic tasks: n_train 1000, length 20)
    assert bundle["swept"]["n_train"] == [1000, 1000] and bundle["swept"]["seq_len"] == [20, 20]
    recommend(bundle, 50, 5, 60_000, n_train=2000, seq_len=10)  # both exactly at an edge
