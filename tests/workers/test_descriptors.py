"""docs/method.md §2-3 worked examples and the descriptor error messages."""

import json

import pytest

from hpsweep.sweep.cli import main
from hpsweep.workers.descriptors import Densities, describe, hidden_from_budget, hidden_from_budget_exact
from hpsweep.workers.errors import DescriptorError


@pytest.mark.parametrize(
    "x, y, densities, budget, hidden, total, hp",
    [
        (2500, 10, Densities.uniform(1.0), 100_000, 29, 99_021, 0.0085),
        (2500, 10, Densities.uniform(0.2), 100_000, 176, 99_919.2, 0.0620),
        (2500, 10, Densities(0.09, 1, 1, 0.1, 0.1, 1), 100_000, 216, 100_232, 0.4655),
        (46, 26, Densities.uniform(1.0), 400_000, 584, 400_160, 0.8523),
    ],
)
def test_paper_worked_examples(x, y, densities, budget, hidden, total, hp):
    m = describe(x, y, densities, budget=budget)
    assert m.hidden == hidden
    assert m.total_weights == pytest.approx(total)
    assert round(m.hidden_proportion, 4) == hp


def test_budget_root_example():
    d = Densities.uniform(0.5)
    assert hidden_from_budget_exact(2500, 10, 50_000, d) == pytest.approx(29.38, abs=0.005)
    assert hidden_from_budget(2500, 10, 50_000, d) == 29


def test_budget_solution_spends_the_budget():
    d = Densities(0.3, 0.7, 0.2, 0.9, 0.4, 0.6)
    h = hidden_from_budget_exact(64, 8, 20_000, d)
    a, b, c = d.hh, d.hx * 64 + d.hy * 8 + d.yh * 8, d.yx * 64 * 8 + d.yy * 64
    assert a * h * h + b * h + c == pytest.approx(20_000)


def test_rounding_densities_is_an_option_not_the_default():
    d = Densities(0.094, 1, 1, 0.104, 0.104, 1)
    exact = describe(2500, 10, d, budget=100_000)
    rounded = describe(2500, 10, d, budget=100_000, round_densities=True)
    assert exact.d_hx == 0.094 and exact.hidden == 212
    assert rounded.hidden == 216  # solved with 0.09, 0.1, 0.1 as the original configs did


def test_balance_candidates():
    m = describe(10, 5, Densities(0.5, 1, 1, 1, 1, 1), hidden=20)
    n_hx, n_hh, n_hy, n_yx, n_yh, n_yy = 100, 400, 100, 50, 100, 25
    total = n_hx + n_hh + n_hy + n_yx + n_yh + n_yy
    assert m.total_weights == total
    assert m.hidden_proportion == pytest.approx(n_hh / total)
    assert m.hp_recurrent == pytest.approx(n_hh / (n_hx + n_hh))
    assert m.input_share == pytest.approx(n_hx / total)
    assert m.output_share == pytest.approx((n_yx + n_yh + n_yy) / total)
    assert m.overall_density == pytest.approx(total / (200 + 400 + 100 + 50 + 100 + 25))
    assert m.bias_count == 25


def test_structure_code():
    assert Densities.from_code("011001", 0.2).as_tuple() == (0.2, 1, 1, 0.2, 0.2, 1)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: Densities(0.5, 1.5, 1, 1, 1, 1), "density hh must be in (0, 1]; got 1.5"),
        (lambda: Densities(0.0, 1, 1, 1, 1, 1), "density hx must be in (0, 1]; got 0.0"),
        (lambda: Densities.from_code("01100", 0.2), "a structure code must be six bits"),
        (lambda: Densities.from_code("01100x", 0.2), "a structure code must be six bits"),
        (lambda: Densities.from_code("011001", 0), "base density of a structure code must be in (0, 1]"),
        (lambda: describe(0, 10, Densities.uniform(1), hidden=5), "input_dim must be a positive integer; got 0"),
        (lambda: describe(10, -1, Densities.uniform(1), hidden=5), "output_dim must be a positive integer; got -1"),
        (lambda: describe(2500, 10, Densities.uniform(1), budget=1000), "budget 1000 is too small for input_dim=2500"),
        (lambda: describe(2500, 10, Densities.uniform(1), budget=-5), "budget must be a positive number"),
        (lambda: describe(25, 10, Densities.uniform(1)), "give exactly one of hidden and budget"),
    ],
)
def test_impossible_requests_fail_with_one_clear_message(make, message):
    with pytest.raises(DescriptorError) as err:
        make()
    assert message in str(err.value)


def test_describe_cli_json(capsys):
    main(["describe", "-x", "2500", "-y", "10", "--budget", "100000", "--densities", "0.09,1,1,0.1,0.1,1", "--json"])
    out = json.loads(capsys.readouterr().out)
    for key in (
        "hidden",
        "n_hx",
        "n_hh",
        "n_hy",
        "n_yx",
        "n_yh",
        "n_yy",
        "total_weights",
        "hidden_proportion",
        "hp_recurrent",
    ):
        assert key in out
    assert out["hidden"] == 216 and round(out["hidden_proportion"], 4) == 0.4655


def test_describe_cli_code_and_table(capsys):
    main(["describe", "-x", "2500", "-y", "10", "--hidden", "29"])
    out = capsys.readouterr().out
    assert "W_hx" in out and "0.0085" in out


def test_describe_cli_bad_input_is_one_line(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["describe", "-x", "2500", "-y", "10", "--budget", "100000", "--code", "0110"])
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert err.strip().count("\n") == 0 and "six bits" in err
