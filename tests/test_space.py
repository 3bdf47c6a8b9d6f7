import math

import numpy as np
import pytest

import tunelab as tl
from tunelab._space import distribution_from_json, sample_space, unconditional_part, validate_space


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: tl.Float(5, 1), r"`low <= high` must hold, got low=5, high=1"),
        (lambda: tl.Float(math.nan, 1), r"`low` must be a finite number, got low=nan"),
        (lambda: tl.Float(0, math.inf), r"`high` must be a finite number, got high=inf"),
        (lambda: tl.Float(0, 1, log=True), r"`low > 0` must hold when log=True, got low=0"),
        (lambda: tl.Float(0, 1, step=0), r"`step > 0` must hold, got step=0"),
        (lambda: tl.Float(0, 1, step=-1), r"`step > 0` must hold, got step=-1"),
        (lambda: tl.Float(1, 2, log=True, step=0.1), r"`step` cannot be combined with log=True"),
        (lambda: tl.Int(3, 1), r"`low <= high` must hold, got low=3, high=1"),
        (lambda: tl.Int(0, 10, log=True), r"`low >= 1` must hold when log=True, got low=0"),
        (lambda: tl.Int(0, 10, step=0), r"`step > 0` must hold, got step=0"),
        (lambda: tl.Int(1, 10, log=True, step=2), r"`step` cannot be combined with log=True"),
        (lambda: tl.Int(0.5, 3), r"`low` must be an integer, got low=0.5"),
        (lambda: tl.Categorical([]), r"`choices` must not be empty"),
        (lambda: tl.Categorical("abc"), r"`choices` must be a list or tuple"),
        (lambda: tl.Categorical([1, 1]), r"`choices` must be unique, got 1 twice"),
        (lambda: tl.Categorical([object()]), r"each choice must be None, bool, int, float or str"),
    ],
)
def test_bad_bounds_raise_one_clear_error(build, message):
    with pytest.raises(tl.InvalidParameterError, match=message):
        build()


def test_invalid_parameter_error_is_value_and_type_error():
    assert issubclass(tl.InvalidParameterError, ValueError)
    assert issubclass(tl.InvalidParameterError, TypeError)


@pytest.mark.parametrize(
    "dist",
    [
        tl.Float(-2, 3),
        tl.Float(1e-5, 1e-1, log=True),
        tl.Float(0, 1, step=0.1),
        tl.Int(1, 10),
        tl.Int(1, 1000, log=True),
        tl.Int(0, 20, step=5),
        tl.Categorical(["a", None, 2.5, True]),
    ],
)
def test_unit_mapping_round_trips_and_covers_the_range(dist):
    seen = set()
    for i in range(201):
        value = dist.from_unit(i / 200)
        assert dist.contains(value), value
        assert dist.from_unit(dist.to_unit(value)) == pytest.approx(value)
        seen.add(repr(value))
        assert distribution_from_json(dist.to_json()) == dist
    if isinstance(dist, tl.Categorical):
        assert len(seen) == len(dist.choices)
    if isinstance(dist, tl.Int) and dist.n_steps <= 50:
        assert len(seen) == dist.n_steps


def test_int_and_step_cells_are_equal_width():
    d = tl.Int(1, 4)
    counts = {v: 0 for v in range(1, 5)}
    for i in range(4000):
        counts[d.from_unit((i + 0.5) / 4000)] += 1
    assert set(counts.values()) == {1000}


def test_step_float_rounds_cleanly_and_trims_high():
    d = tl.Float(0, 1, step=0.3)
    assert d.high == pytest.approx(0.9)
    assert d.from_unit(0.5) in (0.3, 0.6)
    assert tl.Float(0, 1, step=0.1).from_unit(0.35) == 0.3


def test_categorical_keeps_bool_and_int_apart():
    d = tl.Categorical([1, True])
    assert d.index(True) == 1 and d.index(1) == 0
    assert not d.contains(1.0)


def test_declarative_space_validation_names_the_parameter():
    with pytest.raises(
        tl.InvalidParameterError, match="Parameter 'x': expected a tunelab distribution"
    ):
        validate_space({"x": (0, 1)})
    with pytest.raises(tl.InvalidParameterError, match="'a' appears twice in the space, as"):
        validate_space({"k": {"p": {"a": tl.Float(0, 1)}, "q": {"a": tl.Float(0, 2)}}})
    with pytest.raises(tl.InvalidParameterError, match="must be a dict"):
        validate_space([("x", tl.Float(0, 1))])


def test_sample_space_follows_branches():
    space = {
        "model": {"svm": {"C": tl.Float(1e-3, 1e3, log=True)}, "tree": {"depth": tl.Int(1, 8)}}
    }
    assert unconditional_part(space) == {"model": tl.Categorical(["svm", "tree"])}
    study = tl.create_study(seed=0)
    for _ in range(20):
        trial = study.ask()
        params = sample_space(trial, space)
        assert set(params) == ({"model", "C"} if params["model"] == "svm" else {"model", "depth"})
        study.tell(trial, 0.0)


def test_categorical_equality_tells_choices_apart_as_suggest_does():
    # Found by a QA pass: a NaN choice made the distribution unequal to itself (every trial
    # after the first failed), and [0, 1] passed for [False, True].
    nan_choices = tl.Categorical([1.0, float("nan")])
    assert nan_choices == tl.Categorical([1.0, float("nan")])
    assert hash(nan_choices) == hash(tl.Categorical([1.0, float("nan")]))
    assert tl.Categorical([0, 1]) != tl.Categorical([False, True])
    assert tl.Categorical(["a", "b"]) != tl.Categorical(["b", "a"])
    study = tl.create_study()
    study.optimize(lambda t: float(t.suggest_categorical("c", [1.0, float("nan")]) == 1.0), 4)
    assert all(t.state == tl.TrialState.COMPLETE for t in study.trials)


def test_a_tiny_step_keeps_every_point_of_its_grid():
    tiny = tl.Float(0, 1e-12, step=1e-14)
    assert len({tiny.from_unit(u) for u in np.linspace(0, 1, 1001)}) == 101
    assert tiny.round_to_step(3e-14) == 3e-14
    assert tl.Float(0, 1, step=0.1).round_to_step(0.30000000000000004) == 0.3


def test_numpy_choices_become_plain_values_and_survive_a_resume(sqlite_url):
    # Found by a QA pass: np.float64 / np.str_ choices (float and str subclasses) were kept as
    # given, never equalled their stored twins, and the resumed study refused to go on.
    choices = list(np.linspace(0.0, 1.0, 3))
    assert tl.Categorical(choices).choices == (0.0, 0.5, 1.0)
    assert [type(c) for c in tl.Categorical([np.str_("a"), np.int64(3), np.True_]).choices] == [
        str,
        int,
        bool,
    ]

    def objective(trial):
        return trial.suggest_categorical("c", choices) + trial.suggest_categorical(
            "s", list(np.array(["a", "b"]))
        ).count("a")

    tl.create_study(study_name="np", storage=sqlite_url).optimize(objective, n_trials=2)
    resumed = tl.load_study(study_name="np", storage=sqlite_url)
    resumed.optimize(objective, n_trials=2)
    assert [t.state.name for t in resumed.trials] == ["COMPLETE"] * 4


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: tl.Float(1, 100, log="false"), "`log` must be True or False, got log='false'"),
        (lambda: tl.Int(1, 100, log=1), "`log` must be True or False, got log=1"),
        (lambda: tl.Int(1, 9, step=2.5), "`step` must be a positive integer, got step=2.5"),
        (lambda: tl.Float(0, 1, step=True), "`step` must be a finite number or None"),
    ],
)
def test_log_and_step_must_have_their_type(build, message):
    # Found by a QA pass: a quoted "false" turned log scaling on, and step errors said
    # "step > 0 must hold" of step=2.0.
    with pytest.raises(tl.InvalidParameterError, match=message):
        build()


def test_integral_float_step_is_taken_as_an_int_step():
    assert tl.Int(1, 9, step=2.0) == tl.Int(1, 9, step=2)
    assert tl.Float(1, 10, log=np.True_).log is True


def test_int_bounds_beyond_exact_float_integers_are_refused():
    # Storages keep parameters as float64: 2**53 + 1 would come back as 2**53.
    tl.Int(-(2**53), 2**53)
    with pytest.raises(tl.InvalidParameterError, match=r"`high` must lie within \+-2\*\*53"):
        tl.Int(0, 2**53 + 1)
    with pytest.raises(tl.InvalidParameterError, match=r"`low` must lie within"):
        tl.Int(-(2**62), 0)
    study = tl.create_study()
    trial = study.ask()
    with pytest.raises(tl.InvalidParameterError, match="Categorical"):
        trial.suggest_int("seed", 0, 2**63 - 1)


def test_a_step_that_does_not_divide_the_range_warns_and_ends_at_the_last_step():
    with pytest.warns(UserWarning, match="ends at 0.9, the last step inside it"):
        dist = tl.Float(0, 1, step=0.3)
    assert dist.high == 0.9 and dist.n_steps == 4
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert tl.Float(0, 0.8999999999999999, step=0.3) == dist  # as stored: no warning
        tl.Float(-1, 1, step=0.1)


def test_a_name_may_recur_in_branches_with_one_distribution():
    # Found by a QA pass: job files took `C` in two branches, Study.ask and SearchCV refused it.
    c = tl.Float(1e-3, 1e3, log=True)
    space = {"model": {"svm": {"C": c, "gamma": tl.Float(1e-4, 1, log=True)}, "lr": {"C": c}}}
    validate_space(space)
    study = tl.create_study(seed=0)
    for _ in range(6):
        study.tell(study.ask(space), 1.0)
    assert {t.params["model"] for t in study.trials} == {"svm", "lr"}
    assert all(c.contains(t.params["C"]) for t in study.trials)
    with pytest.raises(tl.InvalidParameterError, match="'model' names both a branch choice"):
        validate_space({"model": {"a": {"model": tl.Float(0, 1)}}})


@pytest.mark.parametrize(
    ("dist", "value"),
    [(tl.Float(1e-14, 1e-10, log=True), 0.0), (tl.Float(1e-14, 1e-10, log=True), -5e-13)]
    + [(tl.Float(0, 1e-9), 1.0009e-9), (tl.Float(0, 1e-9), -9e-13)],
)
def test_a_tiny_range_contains_nothing_outside_it(dist, value):
    # Found by a QA pass: a fixed slack of 1e-12 took these in, and log(0) then broke TPE.
    assert not dist.contains(value)
    assert dist.contains(dist.low) and dist.contains(dist.high)


def test_rounding_noise_at_a_bound_is_still_forgiven():
    assert tl.Float(0, 1).contains(-1e-17) and tl.Float(0, 0.3).contains(0.1 + 0.2)


def test_an_int_range_shortened_by_its_step_warns_as_a_float_one_does():
    with pytest.warns(UserWarning, match=r"Int\(low=0, high=10, step=3\).* ends at 9"):
        assert tl.Int(0, 10, step=3).high == 9
    with pytest.warns(UserWarning, match="ends at 9e-11"):
        tl.Float(0, 1e-10, step=3e-11)


def test_a_float_range_wider_than_a_float_is_refused():
    # Found by a QA pass: every draw of Float(-1e308, 1e308) was one of its two edges.
    with pytest.raises(tl.InvalidParameterError, match="high - low overflows"):
        tl.Float(-1e308, 1e308)
    assert tl.Float(1e-300, 1e300, log=True).contains(1.0)


@pytest.mark.parametrize(("choices", "given", "taken"), [([1.0, 2.0], 1, 1.0), ([1, 2], 1.0, 1)])
def test_an_enqueued_number_takes_the_equal_choice_of_another_number_type(choices, given, taken):
    # Found by a QA pass: "the enqueued value 1 lies outside Categorical(choices=(1.0, 2.0))".
    study = tl.create_study()
    study.enqueue_trial({"c": given})
    study.optimize(lambda t: float(t.suggest_categorical("c", choices)), n_trials=1)
    value = study.trials[0].params["c"]
    assert value == taken and type(value) is type(taken)


def test_an_enqueued_number_for_a_bool_choice_says_why_it_is_refused():
    study = tl.create_study()
    study.enqueue_trial({"c": 0})
    with pytest.raises(tl.InvalidParameterError, match=r"equals the choice False \(bool\)"):
        study.optimize(lambda t: float(t.suggest_categorical("c", [False, True])), n_trials=1)


def test_categorical_takes_a_1d_array_of_choices():
    # Found by a QA pass: np.array([16, 32, 64]) was refused; Optuna takes it.
    np = pytest.importorskip("numpy")
    choices = tl.Categorical(np.array([16, 32, 64])).choices
    assert choices == (16, 32, 64) and all(type(c) is int for c in choices)
    with pytest.raises(tl.InvalidParameterError, match="must be a list or tuple"):
        tl.Categorical(np.array([[1, 2]]))
