"""`tunelab tune`: what a job file's estimator, data and scorer must agree on, failing trials,
grids, and the split a resumed study keeps. Found by a QA pass unless said otherwise."""

import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

import tunelab as tl
from tunelab._jobfile import JobFileError, load_job
from tunelab._tune import SPLIT_SEED_ATTR, load_data, run_job
from tunelab.cli import main


def write(tmp_path, text, name="job.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def tune(tmp_path, job, *args):
    url = f"sqlite:///{tmp_path / 't.db'}"
    return subprocess.run(
        [sys.executable, "-m", "tunelab", "tune", str(job), "--no-progress", "--storage", url]
        + list(args),
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )


def run_in(url, job, n_trials):
    """Run job file ``job`` in process against storage ``url``, quietly."""
    spec = load_job(job)
    spec.storage = url
    return run_job(spec, n_trials=n_trials, timeout=None, show_progress_bar=False)


def assert_one_error_line(proc, *fragments):
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ")
    for fragment in fragments:
        assert fragment in last, last


RIDGE_SPACE = "space:\n  alpha: {type: float, low: 0.1, high: 10, log: true}\n"
RIDGE_SPACE_JOB = (
    "estimator: sklearn.linear_model.Ridge\ndataset: diabetes\nstudy_name: ridge\n" + RIDGE_SPACE
)


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        (
            "estimator: sklearn.linear_model.Ridge\ndataset: diabetes\n"
            "params: {solver: nonsense}\n" + RIDGE_SPACE,
            ["job.yaml: params.solver: The 'solver' parameter of Ridge must be"],
        ),
        (
            "estimator: sklearn.linear_model.Ridge\ndataset: diabetes\nscoring: roc_auc\n"
            + RIDGE_SPACE,
            ["job.yaml: scoring: 'roc_auc' is a classification metric, but Ridge is a regressor"],
        ),
        (
            "estimator: sklearn.linear_model.LogisticRegression\ndataset: iris\nscoring: roc_auc\n"
            "space:\n  C: {type: float, low: 0.1, high: 1}\n",
            ["job.yaml: scoring: 'roc_auc' does not fit the target of iris (3 classes)"],
        ),
        (
            "estimator: sklearn.linear_model.LogisticRegression\ndataset: iris\ncv: 100\n"
            "space:\n  C: {type: float, low: 0.1, high: 1}\n",
            ["job.yaml: cv: 100 stratified folds need 100 rows of every class", "or less"],
        ),
        (
            "estimator: sklearn.linear_model.LogisticRegression\ndataset: diabetes\n"
            "space:\n  C: {type: float, low: 0.1, high: 1}\n",
            ["job.yaml: dataset:", "have a single row", "LogisticRegression is a classifier"],
        ),
        (
            "estimator: sklearn.linear_model.LogisticRegression\ndataset: iris\n"
            "params: {solver: lbfgs}\nspace:\n  penalty: [l1]\n",
            ["job.yaml: space: every trial failed (2 of 2)", "Solver lbfgs supports only"],
        ),
    ],
    ids=[
        "param-value",
        "scoring-task",
        "scoring-target",
        "cv",
        "classifier-on-quantity",
        "all-fail",
    ],
)
def test_problems_the_job_file_check_cannot_see_are_one_line_exit_2(tmp_path, text, fragments):
    proc = tune(tmp_path, write(tmp_path, text), "--n-trials", "2")
    assert_one_error_line(proc, *fragments)


def test_a_scorer_whose_positive_class_the_labels_lack_is_refused_up_front(tmp_path):
    # Found by a QA pass: f1 on "no"/"yes" passed the check (run on codes 0/1), then every
    # trial failed with "pos_label=1 is not a valid label" and the error blamed the space.
    rows = "\n".join(f"{i % 7},{i % 3},{'yes' if i % 2 else 'no'}" for i in range(60))
    (tmp_path / "d.csv").write_text("a,b,target\n" + rows + "\n")
    job = write(
        tmp_path,
        "estimator: sklearn.linear_model.LogisticRegression\n"
        "dataset: {csv: d.csv, target: target}\nscoring: f1\n"
        "space:\n  C: {type: float, low: 0.1, high: 1}\n",
    )
    proc = tune(tmp_path, job, "--n-trials", "2")
    assert_one_error_line(
        proc, "job.yaml: scoring: 'f1' does not fit column 'target'", "recode the target as 0/1"
    )


def test_failing_trials_are_recorded_and_the_run_goes_on(tmp_path):
    job = write(
        tmp_path,
        "estimator: sklearn.linear_model.LogisticRegression\ndataset: breast_cancer\n"
        "scale: true\nparams: {solver: liblinear}\nspace:\n  penalty: [l1, l2, elasticnet]\n"
        "  C: {type: float, low: 0.1, high: 10, log: true}\n",
    )
    result = run_in(f"sqlite:///{tmp_path / 'f.db'}", job, n_trials=12)
    states = [t.state for t in result.study.trials]
    assert tl.TrialState.FAIL in states and tl.TrialState.COMPLETE in states
    assert result.best_params["penalty"] in ("l1", "l2")


@pytest.mark.parametrize(
    ("csv", "target"),
    [
        ("a,b,y\n" + "".join(f"{i % 7},{i % 3},{(i * 37) % 300}\n" for i in range(120)), "y"),
        ("a,b,y\n" + "".join(f"{i % 7},{i % 3},{float(i % 5)}\n" for i in range(120)), "y"),
    ],
    ids=["integer-target", "few-valued-float-target"],
)
def test_the_estimator_decides_classification_or_regression(tmp_path, csv, target):
    # A regressor on an integer or few-valued target was treated as classification from the
    # target's dtype: a stratified split refused the single-row values (a traceback), or the
    # scorer was accuracy.
    data = write(tmp_path, csv, name="d.csv")
    job = write(
        tmp_path,
        f"estimator: sklearn.linear_model.Ridge\ndataset: {{csv: {data}, target: {target}}}\n"
        + RIDGE_SPACE,
    )
    assert load_data(load_job(job))[2] is False
    proc = tune(tmp_path, job, "--n-trials", "2")
    assert proc.returncode == 0, proc.stderr
    assert "held-out test r2" in proc.stdout


def test_a_classifier_on_a_float_label_column_is_classification(tmp_path):
    data = write(
        tmp_path, "a,y\n" + "".join(f"{i},{float(i % 2)}\n" for i in range(40)), name="d.csv"
    )
    job = write(
        tmp_path,
        f"estimator: sklearn.linear_model.LogisticRegression\ndataset: {{csv: {data}, target: y}}\n"
        "space:\n  C: {type: float, low: 0.1, high: 1}\n",
    )
    assert load_data(load_job(job))[2] is True


def test_grid_sampler_runs_every_point_once_then_stops(tmp_path):
    job = write(
        tmp_path,
        "estimator: sklearn.linear_model.Ridge\ndataset: diabetes\nsampler: grid\n"
        "space:\n  alpha: {type: float, low: 0.5, high: 2, step: 0.5}\n"
        "  fit_intercept: [true, false]\n",
    )
    result = run_in(f"sqlite:///{tmp_path / 'g.db'}", job, n_trials=50)
    points = {(t.params["alpha"], t.params["fit_intercept"]) for t in result.study.trials}
    assert len(result.study.trials) == len(points) == 8


def test_resuming_a_study_with_another_scorer_or_estimator_is_refused(tmp_path):
    # Found by a QA pass: a study tuned for neg_mean_squared_error and resumed with r2 held
    # values of both, and an R2 trial (0.5) beat every MSE one (-3000).
    url = f"sqlite:///{tmp_path / 's.db'}"
    mse = write(tmp_path, RIDGE_SPACE_JOB + "scoring: neg_mean_squared_error\n")
    run_in(url, mse, n_trials=1)
    run_in(url, mse, n_trials=1)  # the same task resumes
    for text, key in (
        (RIDGE_SPACE_JOB + "scoring: r2\n", "scoring"),
        (
            RIDGE_SPACE_JOB.replace("Ridge", "Lasso") + "scoring: neg_mean_squared_error\n",
            "estimator",
        ),
    ):
        other = write(tmp_path, text)
        with pytest.raises(JobFileError, match=f"{key}: study 'ridge' holds trials of {key}"):
            run_in(url, other, n_trials=1)
    assert len(tl.load_study(study_name="ridge", storage=url).trials) == 2


def test_resuming_a_seedless_job_keeps_its_split_and_folds(tmp_path, monkeypatch):
    # With `seed: null` every run drew a new train/test split, so the "rows the search never
    # saw" of a resumed run had been searched on by the run before.
    import sklearn.model_selection as ms

    seen = []
    split = ms.train_test_split

    def spy(*args, random_state=None, **kwargs):
        if len(args) == 2:  # the split of X and y (not the provisional one of y alone)
            seen.append(random_state)
        return split(*args, random_state=random_state, **kwargs)

    monkeypatch.setattr(ms, "train_test_split", spy)
    job = write(
        tmp_path,
        "estimator: sklearn.linear_model.Ridge\ndataset: diabetes\nseed: null\n" + RIDGE_SPACE,
    )
    results = [run_in(f"sqlite:///{tmp_path / 's.db'}", job, n_trials=1) for _ in range(2)]
    assert seen[0] is not None and seen == [seen[0]] * 2
    assert results[0].split_seed == results[1].split_seed == seen[0]
    assert results[1].study.user_attrs[SPLIT_SEED_ATTR] == seen[0]


def test_a_changed_seed_keeps_the_studys_split_and_says_so(tmp_path):
    url = f"sqlite:///{tmp_path / 'c.db'}"
    base = "estimator: sklearn.linear_model.Ridge\ndataset: diabetes\n" + RIDGE_SPACE
    assert run_in(url, write(tmp_path, base + "seed: 3\n"), n_trials=1).notes == []
    result = run_in(url, write(tmp_path, base + "seed: 4\n"), n_trials=1)
    assert result.split_seed == 3 and "seed 3" in result.notes[0]


def test_ctrl_c_exits_130(tmp_path, monkeypatch):
    import tunelab._tune

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(tunelab._tune, "run_job", interrupted)
    job = write(
        tmp_path, "estimator: sklearn.linear_model.Ridge\ndataset: diabetes\n" + RIDGE_SPACE
    )
    result = CliRunner().invoke(
        main, ["tune", str(job), "--storage", f"sqlite:///{tmp_path / 'k.db'}"]
    )
    assert result.exit_code == 130
    assert "interrupted" in result.output and "resumes it" in result.output


def test_split_seed_is_stored_even_with_an_explicit_seed(tmp_path):
    job = write(
        tmp_path, "estimator: sklearn.linear_model.Ridge\ndataset: diabetes\n" + RIDGE_SPACE
    )
    result = run_in(f"sqlite:///{tmp_path / 'e.db'}", job, n_trials=1)
    assert result.study.user_attrs[SPLIT_SEED_ATTR] == 0 == result.split_seed
    assert np.isfinite(result.test_score)


def test_a_refused_job_leaves_no_study_behind(tmp_path):
    job = write(
        tmp_path,
        "estimator: sklearn.linear_model.LogisticRegression\ndataset: iris\ncv: 100\n"
        "space:\n  C: {type: float, low: 0.1, high: 1}\n",
    )
    proc = tune(tmp_path, job)
    assert_one_error_line(proc, "cv: 100")
    assert proc.stdout == ""  # no "Study ... in ..." header for a study that never started
    url = f"sqlite:///{tmp_path / 't.db'}"
    assert not (tmp_path / "t.db").exists() or tl.get_all_study_summaries(url) == []


IRIS_SVC = (
    "estimator: sklearn.svm.SVC\ndataset: iris\nspace:\n  C: {type: float, low: 0.1, high: 1}\n"
)


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        (
            IRIS_SVC + "cv: 100\n",
            ["but class 0 has 37; use cv: 37 or less"],
        ),
        (
            IRIS_SVC + "scoring: roc_auc\n",
            [
                "multi_class must be in ('ovo', 'ovr'); for more than 2 classes use "
                "'roc_auc_ovr' (or 'roc_auc_ovo')"
            ],
        ),
        (
            IRIS_SVC + "scoring: f1\n",
            ["average setting", "for more than 2 classes use 'f1_macro' (or 'f1_weighted')"],
        ),
        (
            IRIS_SVC + "scoring: neg_log_loss\n",
            [
                "'neg_log_loss' needs predict_proba, which SVC offers only with other settings; "
                "set probability: true in params"
            ],
        ),
    ],
    ids=["numpy-class-label", "roc-auc-3-classes", "f1-3-classes", "proba-off"],
)
def test_messages_name_the_fix_in_plain_values(tmp_path, text, fragments):
    # Found by a QA pass: "class np.int64(0) has 37", and scikit-learn's multi_class argument,
    # which a scorer name cannot pass.
    proc = tune(tmp_path, write(tmp_path, text), "--n-trials", "1")
    assert_one_error_line(proc, *fragments)
    assert "np." not in proc.stderr


def test_a_job_files_storage_that_cannot_be_opened_names_the_file_and_key(tmp_path):
    job = write(
        tmp_path,
        "estimator: sklearn.linear_model.Ridge\ndataset: diabetes\n"
        f"storage: sqlite:///{tmp_path / 'no' / 'such' / 'x.db'}\n" + RIDGE_SPACE,
    )
    proc = subprocess.run(
        [sys.executable, "-m", "tunelab", "tune", str(job), "--no-progress"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert_one_error_line(proc, "job.yaml: storage: Cannot open storage", "does not exist")
    # Given on the command line, the URL is not the file's problem.
    proc = tune(tmp_path, job, "--n-trials", "1")
    assert proc.returncode == 0, proc.stderr
    bad = tune(tmp_path, job, "--storage", "sqlite:/x.db")
    assert_one_error_line(bad, "Storage URL 'sqlite:/x.db' is not a database URL")
    assert "job.yaml" not in bad.stderr.strip().splitlines()[-1]


def test_resuming_a_study_left_by_an_unfinished_import_is_refused(tmp_path, monkeypatch):
    from tunelab._transfer import IMPORT_ATTR

    url = f"sqlite:///{tmp_path / 'i.db'}"
    job = write(
        tmp_path, "estimator: sklearn.linear_model.Ridge\ndataset: diabetes\n" + RIDGE_SPACE
    )
    study = tl.create_study(study_name="job", storage=url, direction="maximize")
    study.storage.set_study_attr(
        study._study_id,
        IMPORT_ATTR,
        {"file": "/x/job.jsonl", "study_name": "job", "n_trials": 9, "finished": False},
        system=True,
    )
    with pytest.raises(
        tl.InvalidParameterError, match="the import of study 'job' .* did not finish"
    ):
        run_in(url, job, n_trials=1)
    assert tl.load_study(study_name="job", storage=url).trials == []


def test_a_scorer_whose_method_a_searched_choice_turns_on_is_accepted(tmp_path):
    # Found by a QA pass: SGDClassifier has predict_proba only with a probabilistic loss, and
    # a space searching such losses was refused as if none had it.
    job = write(
        tmp_path,
        "estimator: sklearn.linear_model.SGDClassifier\ndataset: iris\nscoring: neg_log_loss\n"
        "space:\n  loss: {type: categorical, choices: [log_loss, modified_huber]}\n"
        "  alpha: {type: float, low: 1.0e-5, high: 1.0e-1, log: true}\n",
    )
    proc = tune(tmp_path, job, "--n-trials", "2")
    assert proc.returncode == 0, proc.stderr
    assert "mean CV neg_log_loss" in proc.stdout + proc.stderr


LOGREG_L1 = (
    "estimator: sklearn.linear_model.LogisticRegression\ndataset: breast_cancer\nstudy_name: s\n"
    "space:\n  penalty: [l1]\n"
)


def test_a_resumed_run_whose_trials_all_fail_is_an_error(tmp_path):
    # Found by a QA pass: "every trial failed" looked at the whole study, so a resumed run
    # whose trials all failed printed the best of the earlier ones and exited 0.
    url = f"sqlite:///{tmp_path / 'r.db'}"
    run_in(url, write(tmp_path, LOGREG_L1 + "params: {solver: liblinear}\n"), n_trials=1)
    with pytest.raises(JobFileError, match=r"job.yaml: space: every trial failed \(2 of 2\)"):
        run_in(url, write(tmp_path, LOGREG_L1 + "params: {solver: lbfgs}\n"), n_trials=2)


def test_resuming_with_another_range_is_refused_before_any_trial(tmp_path):
    # Found by a QA pass: every new trial failed ("Parameter 'C' is Float(...) here but was
    # ..."), and the run printed the old best and exited 0.
    url = f"sqlite:///{tmp_path / 'r.db'}"
    base = "estimator: sklearn.linear_model.Ridge\ndataset: diabetes\nstudy_name: ridge\nspace:\n"
    run_in(
        url,
        write(tmp_path, base + "  alpha: {type: float, low: 0.001, high: 1000, log: true}\n"),
        2,
    )
    changed = write(tmp_path, base + "  alpha: {type: float, low: 0.001, high: 100, log: true}\n")
    with pytest.raises(
        JobFileError,
        match=r"job.yaml: space.alpha: study 'ridge' holds trials of alpha in \{type: float, "
        r"low: 0.001, high: 1000, log: true\}, and this job has \{type: float, low: 0.001, "
        r"high: 100, log: true\}; .*Use another study_name, or the old range of alpha again$",
    ):
        run_in(url, changed, 2)
    assert len(tl.load_study(study_name="ridge", storage=url).trials) == 2


def _csv(path, loader):
    import pandas as pd

    from sklearn import datasets

    bunch = getattr(datasets, f"load_{loader}")()
    pd.DataFrame(bunch.data).assign(y=bunch.target).to_csv(path, index=False)


def test_resuming_on_another_csv_with_the_same_target_is_refused(tmp_path):
    # Found by a QA pass: the stored dataset was only "csv target 'y'".
    url = f"sqlite:///{tmp_path / 'c.db'}"
    for name in ("iris", "wine"):
        _csv(tmp_path / f"{name}.csv", name)
    (tmp_path / "moved").mkdir()
    _csv(tmp_path / "moved" / "iris.csv", "iris")
    job = (
        "estimator: sklearn.linear_model.LogisticRegression\nstudy_name: c\ncv: 3\n"
        "space:\n  C: {type: float, low: 0.1, high: 1}\ndataset: {csv: %s, target: y}\n"
    )
    run_in(url, write(tmp_path, job % "iris.csv"), 1)
    run_in(url, write(tmp_path, job % "moved/iris.csv"), 1)  # the file's name, not its place
    with pytest.raises(
        JobFileError,
        match=r"job.yaml: dataset.csv: study 'c' holds trials of CSV file 'iris.csv', and this "
        r"job has 'wine.csv'",
    ):
        run_in(url, write(tmp_path, job % "wine.csv"), 1)


def test_resuming_with_another_test_size_is_refused_unless_the_study_predates_the_key(
    tmp_path,
):
    # Found by a QA pass: another test_size held out rows the earlier runs had searched on,
    # and the summary still said "rows the search never saw".
    from tunelab._tune import TASK_ATTR

    url = f"sqlite:///{tmp_path / 't.db'}"
    run_in(url, write(tmp_path, RIDGE_SPACE_JOB), 1)
    other = write(tmp_path, RIDGE_SPACE_JOB + "test_size: 0.5\n")
    with pytest.raises(
        JobFileError,
        match=r"job.yaml: test_size: study 'ridge' holds trials of test_size 0.25, and this job "
        r"has 0.5; .*or test_size 0.25 again$",
    ):
        run_in(url, other, 1)
    # A study stored before test_size was a key is checked on the keys it has.
    study = tl.load_study(study_name="ridge", storage=url)
    task = dict(study.user_attrs[TASK_ATTR])
    del task["test_size"]
    study.set_user_attr(TASK_ATTR, task)
    assert run_in(url, other, 1).n_test == 221


@pytest.mark.parametrize(
    ("csv", "fragment"),
    [
        ("a,b,y\n", "job.yaml: dataset.csv: d.csv has a header but no rows"),
        (
            "a,y\n" + "".join(f"{i},\n" for i in range(30)),
            "job.yaml: dataset.target: column 'y' is empty in all 30 rows of d.csv",
        ),
        (
            "y\n" + "".join(f"{i}\n" for i in range(30)),
            "job.yaml: dataset.csv: d.csv has no column besides the target 'y'",
        ),
        (
            "a,y\n" + "".join(f",{i}\n" for i in range(30)),
            "job.yaml: dataset.csv: every column of d.csv besides the target 'y' is empty",
        ),
        (
            "a,y\n1,2\n2,3\n3,4\n",
            "job.yaml: dataset.csv: too few rows (3) for a held-out test split (test_size 0.25) "
            "and 2-fold CV, with 2 test rows per fold; it needs at least 6 rows",
        ),
        ("a;y\n1;2\n2;3\n1,5;4\n", "(Error tokenizing data. C error: Expected 1 fields in line"),
    ],
    ids=[
        "header-only",
        "target-all-missing",
        "target-only",
        "features-all-empty",
        "3-rows",
        "semi",
    ],
)
def test_csvs_the_search_cannot_use_are_one_line_before_the_search(tmp_path, csv, fragment):
    # Found by a QA pass: tracebacks ("n_samples=0"), every trial failing "0 feature(s)",
    # advice that cannot be followed ("use cv: 2 or less" with cv: 2), a message over 2 lines.
    write(tmp_path, csv, name="d.csv")
    job = write(
        tmp_path,
        "estimator: sklearn.linear_model.Ridge\ndataset: {csv: d.csv, target: y}\ncv: 2\n"
        + RIDGE_SPACE,
    )
    proc = tune(tmp_path, job, "--n-trials", "1")
    assert_one_error_line(proc, fragment)
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "or less" not in proc.stderr
    url = f"sqlite:///{tmp_path / 't.db'}"
    assert not (tmp_path / "t.db").exists() or tl.get_all_study_summaries(url) == []


def test_too_few_rows_of_each_class_names_the_rows_needed(tmp_path):
    # A held-out split with fewer test rows than classes was a traceback from scikit-learn.
    write(tmp_path, "a,y\n" + "".join(f"{i},{'abc'[i // 2]}\n" for i in range(6)), name="d.csv")
    job = write(
        tmp_path,
        "estimator: sklearn.linear_model.LogisticRegression\ndataset: {csv: d.csv, target: y}\n"
        "cv: 2\nspace:\n  C: {type: float, low: 0.1, high: 1}\n",
    )
    with pytest.raises(
        JobFileError,
        match=r"dataset.csv: too few rows \(6, of 3 classes\) .* it needs at least 3 rows of "
        r"every class$",
    ):
        run_in(f"sqlite:///{tmp_path / 'c.db'}", job, 1)
    write(tmp_path, "a,y\n" + "".join(f"{i},{'abc'[i // 3]}\n" for i in range(9)), name="d.csv")
    assert run_in(f"sqlite:///{tmp_path / 'c.db'}", job, 1).n_test == 3


@pytest.mark.parametrize(("sep", "kind"), [("\t", "tab"), (";", "semicolon")])
def test_a_csv_that_is_not_comma_separated_is_named_as_such(tmp_path, sep, kind):
    # The message was "column 'y' is not in d.csv (columns: a\tb\ty)".
    lines = [sep.join("aby")] + [sep.join(map(str, (i, i % 3, i % 2))) for i in range(30)]
    write(tmp_path, "\n".join(lines) + "\n", name="d.csv")
    job = write(
        tmp_path,
        "estimator: sklearn.linear_model.Ridge\ndataset: {csv: d.csv, target: y}\n" + RIDGE_SPACE,
    )
    with pytest.raises(JobFileError) as info:
        load_data(load_job(job))
    message = str(info.value)
    assert message.startswith(f"{job}: dataset.csv: column 'y' is not in d.csv: ")
    assert f"it looks {kind}-separated, and only comma-separated files are read" in message
    assert f"sep={sep!r}" in message and "\n" not in message


def test_left_out_rows_and_an_index_column_are_noted(tmp_path):
    # Rows without a target were dropped without a word; a saved pandas index ("Unnamed: 0")
    # is a row number that predicts the file's order.
    rows = "".join(
        f"{i},{i % 7},{i % 3},{'' if i in (4, 8) else (i * 37) % 300}\n" for i in range(120)
    )
    write(tmp_path, ",a,b,y\n" + rows, name="d.csv")
    job = write(
        tmp_path,
        "estimator: sklearn.linear_model.Ridge\ndataset: {csv: d.csv, target: y}\n" + RIDGE_SPACE,
    )
    result = run_in(f"sqlite:///{tmp_path / 'n.db'}", job, 1)
    notes = result.notes
    assert notes[0] == (
        "2 of the 120 rows of d.csv have no value in the target column 'y'; they were left out"
    )
    assert notes[1].startswith("column 'Unnamed: 0' looks like a row index that pandas wrote")
    proc = tune(tmp_path, job, "--n-trials", "1")
    assert proc.returncode == 0, proc.stderr
    assert "note: 2 of the 120 rows of d.csv" in proc.stdout
    assert "\nnote: column 'Unnamed: 0'" in proc.stdout


def test_the_study_names_its_metric_for_plots(tmp_path):
    job = write(tmp_path, RIDGE_SPACE_JOB + "scoring: neg_mean_absolute_error\n")
    url = f"sqlite:///{tmp_path / 'm.db'}"
    study = run_in(url, job, 1).study
    assert study.metric_names == ["neg_mean_absolute_error"]
    study.set_metric_names(["MAE (negated)"])
    assert run_in(url, job, 1).study.metric_names == ["MAE (negated)"]  # the user's name stays


def test_a_job_files_trial_timeout_stops_a_slow_configuration(tmp_path):
    # Found by a QA pass: a job file had no way to cap one slow configuration.
    (tmp_path / "slow.py").write_text(
        "import time\n"
        "from sklearn.linear_model import Ridge\n"
        "class SlowRidge(Ridge):\n"
        "    def fit(self, X, y, sample_weight=None):\n"
        "        if self.alpha > 1:\n"
        "            time.sleep(30)\n"
        "        return super().fit(X, y, sample_weight)\n"
    )
    job = write(
        tmp_path,
        "estimator: slow.SlowRidge\ndataset: diabetes\ntrial_timeout: 1\nn_jobs: 1\n"
        "space:\n  alpha: [0.5, 5.0]\nsampler: grid\n",
    )
    import sys

    sys.path.insert(0, str(tmp_path))
    try:
        result = run_in(f"sqlite:///{tmp_path / 'slow.db'}", job, n_trials=2)
    finally:
        sys.path.remove(str(tmp_path))
    states = {t.params["alpha"]: t for t in result.study.trials}
    assert states[0.5].state == tl.TrialState.COMPLETE
    assert states[5.0].state == tl.TrialState.FAIL
    assert "trial_timeout" in states[5.0].fail_reason
