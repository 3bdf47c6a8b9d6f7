from __future__ import annotations

from tunelab.visualization import edf_data, plot_edf


def test_edf_is_sorted_cumulative_share(make_study, told):
    a = make_study("a")
    told(a, [3.0, 1.0, 2.0, 4.0])
    b = make_study("b")
    told(b, [5.0, 0.0])
    data = edf_data([a, b])
    first, second = data["studies"]
    assert first["x"] == [1.0, 2.0, 3.0, 4.0]
    assert first["y"] == [0.25, 0.5, 0.75, 1.0]
    assert second == {"name": "b", "x": [0.0, 5.0], "y": [0.5, 1.0]}
    assert len(plot_edf([a, b]).data) == 2
