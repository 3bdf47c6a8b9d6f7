from __future__ import annotations

import tunelab as tl
import tunelab.pruners as pruners
from tunelab.pruners import TRIAL_GROUP_ATTR, BasePruner, NopPruner, same_group


def test_all_pins_the_public_names():
    public = {n for n in dir(pruners) if not n.startswith("_")}
    assert set(pruners.__all__) == public - {"annotations"}
    for name in pruners.__all__:
        assert getattr(pruners, name) is not None


def test_nop_pruner_never_prunes_and_has_no_group(run):
    study = tl.create_study(pruner=NopPruner())
    for _ in range(3):
        assert run(study, [1.0, 2.0, 3.0]) is None
    assert NopPruner().trial_group(study, study.trials[0]) is None


def test_custom_pruner_needs_only_prune():
    class Always(BasePruner):
        def prune(self, study, trial):
            return True

    study = tl.create_study(pruner=Always())
    trial = study.ask()
    trial.report(1.0, 0)
    assert trial.should_prune()


def test_same_group_filters_by_the_recorded_group():
    study = tl.create_study()
    trials = []
    for group in ["a", "b", "a", None]:
        t = study.ask()
        if group is not None:
            study._set_trial_attr(t._frozen, TRIAL_GROUP_ATTR, group, system=True)
        trials.append(t.freeze())
    assert [t.number for t in same_group(trials, trials[0])] == [0, 2]
    assert [t.number for t in same_group(trials, trials[1])] == [1]
    assert len(same_group(trials, trials[3])) == 4
