import pytest

import tunelab as tl


def test_max_trials_callback_stops_at_a_total_over_workers(sqlite_url):
    # Two handles on one stored study (two workers): the second stops at the study's total.
    first = tl.create_study(study_name="s", storage=sqlite_url)
    first.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
    second = tl.load_study(study_name="s", storage=sqlite_url)
    second.optimize(
        lambda t: t.suggest_float("x", 0, 1), n_trials=50, callbacks=[tl.MaxTrialsCallback(5)]
    )
    assert len(second.trials) == 5


def test_max_trials_callback_counts_the_states_it_is_given():
    def sometimes_fails(trial):
        if trial.number % 2:
            raise ValueError("odd")
        return 0.0

    study = tl.create_study()
    study.optimize(
        sometimes_fails, n_trials=20, catch=[ValueError], callbacks=[tl.MaxTrialsCallback(3)]
    )
    assert len(study.get_trials([tl.TrialState.COMPLETE])) == 3 and len(study.trials) == 5
    counted_all = tl.create_study()
    counted_all.optimize(
        sometimes_fails,
        n_trials=20,
        catch=[ValueError],
        callbacks=[tl.MaxTrialsCallback(3, states=None)],
    )
    assert len(counted_all.trials) == 3
    with pytest.raises(tl.InvalidParameterError, match="'n_trials' parameter of MaxTrialsCallback"):
        tl.MaxTrialsCallback(0)
