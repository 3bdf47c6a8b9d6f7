from __future__ import annotations

import math

import pytest

import tunelab
from tunelab import Categorical, Float

pytest.importorskip("starlette")
pytest.importorskip("httpx")
from starlette.testclient import TestClient  # noqa: E402

from tunelab.dashboard import create_app  # noqa: E402


@pytest.fixture
def client(filled, db_url):
    with TestClient(create_app(db_url)) as c:
        yield c


def test_study_list(client, filled):
    studies = client.get("/api/studies").json()["studies"]
    assert [s["study_name"] for s in studies] == ["demo"]
    s = studies[0]
    assert s["directions"] == ["minimize"]
    assert s["n_trials_by_state"] == {
        "RUNNING": 1,
        "WAITING": 0,
        "COMPLETE": 4,
        "PRUNED": 1,
        "FAIL": 1,
    }
    assert s["best_values"] == [filled.best_value]
    assert s["last_activity"] is not None
    assert s["user_attrs"] == {"owner": "test"}


def test_storage_is_opened_read_only(client):
    storage = client.app.state.storage
    assert storage.read_only
    with pytest.raises(tunelab.exceptions.StorageError, match="read-only"):
        storage.create_study("nope", [tunelab.StudyDirection.MINIMIZE])


def test_trials_incremental_and_running_ones_resent(client, filled):
    sid = client.get("/api/studies").json()["studies"][0]["study_id"]
    first = client.get(f"/api/studies/{sid}/trials").json()
    assert [t["number"] for t in first["trials"]] == list(range(7))
    assert first["cursor"] == 7
    again = client.get(f"/api/studies/{sid}/trials?since=7").json()
    assert [t["number"] for t in again["trials"]] == [6]  # still running: sent again
    assert again["version"] == first["version"]
    writer = tunelab.load_study("demo", filled.storage)
    writer.tell(writer.ask({"x": Float(-1, 1)}), 0.5)
    later = client.get(f"/api/studies/{sid}/trials?since=7").json()
    assert [(t["number"], t["state"]) for t in later["trials"]] == [(6, "RUNNING"), (7, "COMPLETE")]
    assert later["cursor"] == 8 and later["version"] != first["version"]


def test_a_trial_seen_running_is_resent_once_it_finishes(client, filled):
    # The page polled between ask and tell: it holds trial 7 as RUNNING and its cursor is 8.
    sid = client.get("/api/studies").json()["studies"][0]["study_id"]
    writer = tunelab.load_study("demo", filled.storage)
    trial = writer.ask({"x": Float(-1, 1)})
    seen = client.get(f"/api/studies/{sid}/trials?since=7").json()
    assert (7, "RUNNING") in [(t["number"], t["state"]) for t in seen["trials"]]
    writer.tell(trial, -3.0)
    polled = client.get(f"/api/studies/{sid}/trials?since={seen['cursor']}&pending=6,7").json()
    rows = {t["number"]: t for t in polled["trials"]}
    assert rows[7]["state"] == "COMPLETE" and rows[7]["values"] == [-3.0]
    bad = client.get(f"/api/studies/{sid}/trials?since=8&pending=7,x")
    assert bad.status_code == 400 and "pending must be comma-separated" in bad.json()["error"]


def test_study_and_trial_detail(client):
    sid = client.get("/api/studies").json()["studies"][0]["study_id"]
    study = client.get(f"/api/studies/{sid}").json()
    assert study["params"] == ["lr", "x"]
    assert "history" in study["plots"] and "pareto" not in study["plots"]
    failed = client.get(f"/api/studies/{sid}/trials/5").json()
    assert failed["state"] == "FAIL" and failed["fail_reason"] == "ValueError: boom"
    running = client.get(f"/api/studies/{sid}/trials/6").json()
    assert running["intermediate_values"] == {"steps": [3], "values": [0.25]}
    assert running["distributions"]["lr"]["log"] is True
    assert client.get(f"/api/studies/{sid}/trials/99").status_code == 404
    bad = client.get(f"/api/studies/{sid}/trials?since=abc")
    assert bad.status_code == 400 and "since must be an integer" in bad.json()["error"]
    assert client.get("/api/studies/12345").status_code == 404


def test_every_plot_of_a_study_builds(client):
    sid = client.get("/api/studies").json()["studies"][0]["study_id"]
    for kind in client.get(f"/api/studies/{sid}").json()["plots"]:
        body = client.get(f"/api/studies/{sid}/plots/{kind}").json()
        assert "figure" in body, (kind, body)
        assert body["figure"]["data"], kind
    assert client.get(f"/api/studies/{sid}/plots/nope").status_code == 404


def test_plot_message_when_too_few_trials(db_url):
    study = tunelab.create_study(study_name="empty", storage=db_url)
    study.tell(study.ask({"x": Float(0, 1)}), 1.0)
    with TestClient(create_app(db_url)) as c:
        body = c.get(f"/api/studies/{study._study_id}/plots/importance").json()
    assert "at least 2 completed trials" in body["message"]


def test_multi_objective_and_non_finite_values(db_url):
    study = tunelab.create_study(
        study_name="mo", storage=db_url, directions=["minimize", "maximize"]
    )
    study.tell(study.ask({"x": Float(0, 1)}), [1.0, math.inf])
    study.tell(study.ask({"x": Float(0, 1)}), [0.5, 2.0])
    with TestClient(create_app(db_url)) as c:
        rows = c.get(f"/api/studies/{study._study_id}/trials").json()["trials"]
        assert rows[0]["values"] == [1.0, "inf"]
        assert "pareto" in c.get(f"/api/studies/{study._study_id}").json()["plots"]
        pareto = c.get(f"/api/studies/{study._study_id}/plots/pareto").json()
        assert "figure" in pareto


def test_pages_and_local_plotly(client):
    assert "tunelab" in client.get("/").text
    assert "study" in client.get("/studies/1").text
    assert '"/static/plotly.min.js"' in client.get("/static/app.js").text
    assert client.get("/studies/1/trials/0").status_code == 200
    js = client.get("/static/plotly.min.js")
    assert js.status_code == 200 and len(js.content) > 1_000_000
    assert client.get("/static/app.js").status_code == 200


def test_trial_detail_with_non_finite_choices(db_url):
    # Found by a QA pass: the distributions went out without the "nan"/"inf" encoding and the
    # trial page got a 500.
    study = tunelab.create_study(study_name="nan", storage=db_url)
    space = {"c": Categorical([1.0, math.nan, -math.inf])}
    study.enqueue_trial({"c": math.nan})
    study.tell(study.ask(space), 1.0)
    with TestClient(create_app(db_url)) as c:
        r = c.get(f"/api/studies/{study._study_id}/trials/0")
    assert r.status_code == 200
    body = r.json()
    assert body["params"] == {"c": "nan"}
    assert body["distributions"]["c"] == {"type": "categorical", "choices": [1.0, "nan", "-inf"]}


def test_study_id_beyond_sqlite_integers_is_not_found(client, filled):
    # Found by a QA pass: SQLite's driver raised OverflowError and the API answered 500.
    for huge in (2**63, -(2**63) - 1):
        for path in ("", "/trials", "/trials/0", "/plots/history"):
            r = client.get(f"/api/studies/{huge}{path}")
            assert r.status_code == 404, path
            assert r.json() == {"error": f"No study with id {huge}."}
    assert client.get("/api/studies").json()["studies"][0]["study_name"] == "demo"


def test_contour_of_parameters_never_set_together_is_a_message(db_url):
    # Found by a QA pass: an empty contour with no word of why.
    study = tunelab.create_study(study_name="branches", storage=db_url)
    for name, v in [("a", 1.0), ("b", 2.0), ("a", 3.0), ("b", 4.0)]:
        study.tell(study.ask({name: Float(0, 1)}), v)
    with TestClient(create_app(db_url)) as c:
        body = c.get(f"/api/studies/{study._study_id}/plots/contour").json()
    assert "figure" not in body and "cannot draw" in body["message"]


def test_pareto_plot_of_an_infinite_front(db_url):
    study = tunelab.create_study(
        study_name="mo-inf", storage=db_url, directions=["minimize", "minimize"]
    )
    for v in [(1.0, 1.0), (0.5, -math.inf), (0.6, 0.5)]:
        study.tell(study.ask(), list(v))
    with TestClient(create_app(db_url)) as c:
        figure = c.get(f"/api/studies/{study._study_id}/plots/pareto").json()["figure"]
    front = next(tr for tr in figure["data"] if tr["name"] == "Pareto front")
    assert front.get("x", []) == []  # trial 2 is dominated by trial 1, which has no point
    assert "trial 1 on the front" in figure["layout"]["title"]["text"]


def test_best_values_count_feasible_trials_only(constrained, db_url):
    # The best infeasible value is 0.5; study.best_value, the storage's summary and every
    # view of the dashboard say 3.0.
    sid = constrained._study_id
    with TestClient(create_app(db_url)) as c:
        listed = c.get("/api/studies").json()["studies"][0]
        study = c.get(f"/api/studies/{sid}").json()
        history = c.get(f"/api/studies/{sid}/plots/history").json()["figure"]
    assert listed["best_values"] == study["best_values"] == [constrained.best_value] == [3.0]
    assert listed["n_infeasible"] == study["n_infeasible"] == 2
    assert listed["n_feasible"] == study["n_feasible"] == 3
    line = next(tr for tr in history["data"] if tr["name"] == "Best so far")
    assert line["y"][-1] == constrained.best_value and min(line["y"]) == 3.0
    grey = next(tr for tr in history["data"] if tr["name"] == "Infeasible trial")
    assert grey["x"] == [1, 3]


def test_rows_and_detail_show_constraints(constrained, filled, db_url):
    with TestClient(create_app(db_url)) as c:
        rows = c.get(f"/api/studies/{constrained._study_id}/trials").json()["trials"]
        detail = c.get(f"/api/studies/{constrained._study_id}/trials/1").json()
        plain_rows = c.get(f"/api/studies/{filled._study_id}/trials").json()["trials"]
        plain = c.get(f"/api/studies/{filled._study_id}/trials/0").json()
    assert [(r["constraints"], r["feasible"]) for r in rows] == [
        ({"0": 0.0}, True),
        ({"0": 0.5}, False),
        ({"0": -1.0}, True),
        ({"0": 2.0}, False),
        ({"0": -0.1}, True),
    ]
    assert detail["constraints"] == {"0": 0.5} and detail["feasible"] is False
    assert all("constraints" not in r and "feasible" not in r for r in plain_rows)
    assert plain["constraints"] is None and plain["feasible"] is None


def test_a_study_without_feasible_trials(db_url):
    from tunelab.samplers import RandomSampler

    sampler = RandomSampler(seed=0, constraints_func=lambda t: [t.user_attrs["c"]])
    study = tunelab.create_study(
        study_name="none-feasible", storage=db_url, sampler=sampler, directions=["minimize"] * 2
    )
    for values in [(1.0, 2.0), (2.0, 1.0)]:
        trial = study.ask({"x": Float(0, 1)})
        trial.set_user_attr("c", 1.0)
        study.tell(trial, list(values))
    with TestClient(create_app(db_url)) as c:
        summary = c.get(f"/api/studies/{study._study_id}").json()
        pareto = c.get(f"/api/studies/{study._study_id}/plots/pareto").json()
    assert summary["best_values"] is None
    assert summary["n_infeasible"] == 2 and summary["n_feasible"] == 0
    figure = pareto["figure"]  # a figure that says why it has no front, not a message
    assert "No feasible trial" in figure["layout"]["title"]["text"]
    grey = next(tr for tr in figure["data"] if tr["name"] == "Infeasible")
    assert sorted(grey["x"]) == [1.0, 2.0]


def test_pareto_plot_excludes_an_infeasible_dominating_trial(db_url):
    from tunelab.samplers import RandomSampler

    sampler = RandomSampler(seed=0, constraints_func=lambda t: [t.user_attrs["c"]])
    study = tunelab.create_study(
        study_name="mo-constrained", storage=db_url, sampler=sampler, directions=["minimize"] * 2
    )
    for values, c in [((0.0, 0.0), 1.0), ((1.0, 3.0), 0.0), ((3.0, 1.0), 0.0)]:
        trial = study.ask({"x": Float(0, 1)})
        trial.set_user_attr("c", c)
        study.tell(trial, list(values))
    with TestClient(create_app(db_url)) as client:
        figure = client.get(f"/api/studies/{study._study_id}/plots/pareto").json()["figure"]
    front = next(tr for tr in figure["data"] if tr["name"] == "Pareto front")
    assert front["text"] == ["Trial 1", "Trial 2"]
    assert [t.number for t in study.best_trials] == [1, 2]


def test_study_id_the_storage_refuses_is_not_found(client, monkeypatch):
    # Found by a QA pass: PostgreSQL's ids are 32-bit and it refuses 2**31 ("integer out of
    # range", a DB-API DataError wrapped in StorageError): the API answered a plain-text 500.
    import sqlalchemy.exc

    from tunelab.exceptions import StorageError

    storage = client.app.state.storage

    def refused(study_id):
        cause = sqlalchemy.exc.DataError("SELECT", {}, Exception("integer out of range"))
        raise StorageError("Storage failed: integer out of range.") from cause

    monkeypatch.setattr(storage, "get_study_name", refused)
    for path in ("", "/trials", "/plots/history"):
        r = client.get(f"/api/studies/{2**31}{path}")
        assert r.status_code == 404, path
        assert r.json() == {"error": f"No study with id {2**31}."}

    def down(study_id):
        cause = sqlalchemy.exc.OperationalError("SELECT", {}, Exception("server closed"))
        raise StorageError("Storage failed: server closed.") from cause

    monkeypatch.setattr(storage, "get_study_name", down)
    with pytest.raises(StorageError, match="server closed"):  # an outage is no "not found"
        client.get("/api/studies/1")


@pytest.mark.postgres
def test_study_id_beyond_postgres_integers_is_not_found(pg_url):
    study = tunelab.create_study(study_name="pg", storage=pg_url)
    study.tell(study.ask({"x": Float(0, 1)}), 1.0)
    with TestClient(create_app(pg_url)) as c:
        for huge in (2**31, -(2**31) - 1, 2**63):
            for path in ("", "/trials", "/trials/0", "/plots/history"):
                r = c.get(f"/api/studies/{huge}{path}")
                assert r.status_code == 404, (huge, path)
                assert r.json() == {"error": f"No study with id {huge}."}
        assert c.get(f"/api/studies/{study._study_id}").status_code == 200


def test_version_changes_when_a_waiting_trial_starts(client, filled):
    # Found by a QA pass: WAITING -> RUNNING left the version as it was, so the page kept
    # showing WAITING while its summary said "1 running".
    sid = filled._study_id
    writer = tunelab.load_study("demo", filled.storage)
    writer.enqueue_trial({"x": 0.5})
    waiting = client.get(f"/api/studies/{sid}/trials?since=7").json()
    assert (7, "WAITING") in [(t["number"], t["state"]) for t in waiting["trials"]]
    writer.ask()  # claims the enqueued trial; no parameter is set yet
    started = client.get(f"/api/studies/{sid}/trials?since=8").json()
    assert (7, "RUNNING") in [(t["number"], t["state"]) for t in started["trials"]]
    assert started["version"] != waiting["version"]
    assert client.get(f"/api/studies/{sid}").json()["version"] == started["version"]


def test_metric_names_label_the_figures_and_follow_a_rename(db_url):
    # Found by a QA pass: after set_metric_names the Pareto figure kept the old axis labels
    # (its cache key was the trials' version), and the other figures said "Objective 0".
    study = tunelab.create_study(
        study_name="named", storage=db_url, directions=["minimize", "maximize"], seed=0
    )
    for _ in range(4):
        trial = study.ask({"x": Float(0, 1), "y": Float(0, 1)})
        study.tell(trial, [trial.params["x"], trial.params["y"]])
    study.set_metric_names(["loss", "acc"])
    sid = study._study_id

    def label(c, kind):
        layout = c.get(f"/api/studies/{sid}/plots/{kind}").json()["figure"]["layout"]
        axis = "xaxis" if kind in ("pareto", "edf") else "yaxis"
        return layout[axis]["title"]["text"]

    with TestClient(create_app(db_url)) as c:
        assert c.get(f"/api/studies/{sid}").json()["metric_names"] == ["loss", "acc"]
        assert label(c, "pareto") == "loss"
        assert label(c, "history") == "loss"
        assert label(c, "edf") == "loss"
        version = c.get(f"/api/studies/{sid}").json()["version"]
        study.set_metric_names(["val_loss", "val_acc"])
        assert c.get(f"/api/studies/{sid}").json()["metric_names"] == ["val_loss", "val_acc"]
        assert label(c, "pareto") == "val_loss"
        assert label(c, "history") == "val_loss"
        # The trials did not change: the version (polled every 2 s) reads no attribute.
        assert c.get(f"/api/studies/{sid}").json()["version"] == version
        plain = c.get(f"/api/studies/{sid}/plots/parallel").json()["figure"]
        assert plain["data"][0]["dimensions"][0]["label"] == "val_loss"


def test_contour_of_a_one_parameter_study_says_why(db_url):
    # Found by a QA pass: "The 'params' parameter ... Got None instead." for a caller that
    # passed no params.
    study = tunelab.create_study(study_name="one", storage=db_url, seed=0)
    for v in (1.0, 2.0, 3.0):
        study.tell(study.ask({"x": Float(0, 1)}), v)
    with TestClient(create_app(db_url)) as c:
        body = c.get(f"/api/studies/{study._study_id}/plots/contour").json()
    assert "figure" not in body
    assert "needs two parameters" in body["message"] and "only 'x'" in body["message"]
    assert "Got None" not in body["message"]
