from __future__ import annotations

import math

from tunelab import TrialState
from tunelab.visualization import intermediate_data, plot_intermediate_values


def test_curves_per_trial_with_state(make_study):
    study = make_study()
    t0 = study.ask()
    for step, v in [(2, 0.5), (0, 1.0), (1, math.nan)]:
        t0.report(v, step)
    study.tell(t0, state=TrialState.PRUNED)
    study.tell(study.ask(), 3.0)  # reported nothing: not drawn
    running = study.ask()
    running.report(2.0, 0)
    data = intermediate_data(study)["trials"]
    assert data == [
        {"number": 0, "state": "PRUNED", "steps": [0, 2], "values": [1.0, 0.5]},
        {"number": 2, "state": "RUNNING", "steps": [0], "values": [2.0]},
    ]
    assert len(plot_intermediate_values(study).data) == 2
