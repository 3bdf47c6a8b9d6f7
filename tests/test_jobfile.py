from pathlib import Path

import pytest

import tunelab as tl
from tunelab._jobfile import JobFileError, load_job

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def write(tmp_path, text, name="job.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


BASE = """
estimator: sklearn.linear_model.LogisticRegression
dataset: iris
space:
  C: {type: float, low: 1.0e-3, high: 100, log: true}
"""


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("*.*")))
def test_examples_parse(name):
    job = load_job(EXAMPLES / name)
    assert job.space and job.estimator.startswith("sklearn.")


def test_defaults_and_types(tmp_path, monkeypatch):
    monkeypatch.delenv("TUNELAB_STORAGE", raising=False)
    job = load_job(write(tmp_path, BASE))
    assert job.space["C"] == tl.Float(
        1e-3, 100, log=True
    )  # YAML's "1.0e-3" string is read as a number
    assert job.cv == 5 and job.study_name == "job" and job.storage == "sqlite:///tunelab.db"


def test_conditional_space_from_yaml(tmp_path):
    job = load_job(
        write(
            tmp_path,
            """
estimator: sklearn.svm.SVC
dataset: wine
space:
  kernel:
    type: categorical
    choices:
      rbf: {gamma: {type: float, low: 0.001, high: 1, log: true}}
      linear: {}
""",
        )
    )
    assert job.space["kernel"] == {"rbf": {"gamma": tl.Float(0.001, 1, log=True)}, "linear": {}}


@pytest.mark.parametrize(
    "extra, message",
    [
        ("n_trails: 5", r"job.yaml: n_trails: unknown key \(did you mean 'n_trials'\?\)"),
        ("cv: 1", r"job.yaml: cv: must be an int >= 2, got 1"),
        ("cv: five", r"job.yaml: cv: must be an int >= 2, got 'five'"),
        ("n_trials: 0", r"job.yaml: n_trials: must be a positive int, got 0"),
        ("timeout: -3", r"job.yaml: timeout: must be a positive number of seconds"),
        ("trial_timeout: 0", r"job.yaml: trial_timeout: must be a positive number of seconds"),
        (
            "scoring: acuracy",
            r"job.yaml: scoring: unknown scorer 'acuracy' \(did you mean 'accuracy'\?\)",
        ),
        ("sampler: best", r"job.yaml: sampler: must be one of auto, random"),
        ("test_size: 1.5", r"job.yaml: test_size: must be a fraction between 0 and 1"),
    ],
)
def test_bad_values_name_file_key_and_problem(tmp_path, extra, message):
    with pytest.raises(JobFileError, match=message):
        load_job(write(tmp_path, BASE + extra + "\n"))


@pytest.mark.parametrize(
    "text, message",
    [
        (
            BASE.replace("LogisticRegression", "LogisticRegresion"),
            r"estimator: module 'sklearn.linear_model' has no 'LogisticRegresion' \(did you mean 'LogisticRegression'\?\)",
        ),
        (
            BASE.replace("sklearn.linear_model.", "nosuch.module."),
            r"estimator: cannot import module 'nosuch.module'",
        ),
        (
            BASE.replace("low: 1.0e-3, high: 100", "low: 100, high: 1"),
            r"space.C: `low <= high` must hold, got low=100, high=1",
        ),
        (BASE.replace("C:", "Cee:"), r"space.Cee: LogisticRegression has no parameter 'Cee'"),
        (
            BASE.replace("type: float", "type: real"),
            r"space.C.type: must be float, int or categorical, got 'real'",
        ),
        (
            BASE.replace("log: true", "log: true, scale: 2"),
            r"space.C.scale: unknown key for a float parameter",
        ),
        (
            BASE.replace("dataset: iris", "dataset: irises"),
            r"dataset: unknown built-in dataset 'irises' \(did you mean 'iris'\?\)",
        ),
        (
            BASE.replace("dataset: iris", "dataset: {csv: x.csv}"),
            r"dataset.target: must be the name of the target column",
        ),
        ("estimator: [unclosed", r"job.yaml: not valid YAML"),
        ("- a\n- b\n", r"job.yaml: the job file must be a mapping"),
        ("dataset: iris\nspace: {}\n", r"job.yaml: estimator: is required"),
    ],
)
def test_bad_job_files(tmp_path, text, message):
    with pytest.raises(JobFileError, match=message):
        load_job(write(tmp_path, text))


def test_unreadable_file(tmp_path):
    with pytest.raises(JobFileError, match="cannot read the job file"):
        load_job(tmp_path / "missing.yaml")


def test_toml_job(tmp_path):
    job = load_job(
        write(
            tmp_path,
            'estimator = "sklearn.tree.DecisionTreeClassifier"\ndataset = "wine"\n[space]\nmax_depth = { type = "int", low = 1, high = 8 }\n',
            name="tree.toml",
        )
    )
    assert job.space == {"max_depth": tl.Int(1, 8)}


def test_storage_precedence(tmp_path, monkeypatch):
    # The job file's storage: key, then $TUNELAB_STORAGE, then the default (as every command).
    monkeypatch.delenv("TUNELAB_STORAGE", raising=False)
    assert load_job(write(tmp_path, BASE)).storage == "sqlite:///tunelab.db"
    monkeypatch.setenv("TUNELAB_STORAGE", "sqlite:///env.db")
    assert load_job(write(tmp_path, BASE)).storage == "sqlite:///env.db"
    keyed = write(tmp_path, BASE + "storage: sqlite:///file.db\n", name="keyed.yaml")
    assert load_job(keyed).storage == "sqlite:///file.db"


@pytest.mark.parametrize(
    "text, message",
    [
        (
            # Found by a QA pass: a transformer passed, then crashed the run with a traceback.
            "estimator: sklearn.preprocessing.StandardScaler\ndataset: iris\n"
            "space:\n  with_mean: [true, false]\n",
            r"job.yaml: estimator: 'sklearn.preprocessing.StandardScaler' is a transformer, not "
            r"a classifier or regressor",
        ),
        (
            "estimator: sklearn.cluster.KMeans\ndataset: iris\nspace:\n  n_clusters: [2, 3]\n",
            r"job.yaml: estimator: 'sklearn.cluster.KMeans' is a clusterer, not a classifier",
        ),
        (
            BASE + "params: {C: 5}\n",
            r"job.yaml: params.C: is also in space; a parameter is either fixed \(params\) or "
            r"searched \(space\)",
        ),
        (
            # Found by a QA pass: `sampler: grid` passed here and failed at run time.
            BASE + "sampler: grid\n",
            r"job.yaml: space.C: the grid sampler needs a finite set of values, and a float "
            r"without `step` has none",
        ),
        (
            "estimator: sklearn.svm.SVC\ndataset: iris\nsampler: grid\nspace:\n  kernel:\n"
            "    type: categorical\n    choices:\n      rbf: {gamma: [0.1, 1]}\n      linear: {}\n",
            r"job.yaml: space.kernel: the grid sampler needs a flat space",
        ),
        (
            BASE.replace("C: {type: float, low: 1.0e-3, high: 100, log: true}", "C: [1, 2]")
            + "  max_iter: {type: int, low: 1, high: 100000000}\n  tol: {type: int, low: 1, high: 100}\n"
            + "sampler: grid\n",
            r"job.yaml: space.max_iter: the grid has 20,000,000,000 points",
        ),
    ],
)
def test_estimators_params_and_grids_checked_at_load(tmp_path, text, message):
    with pytest.raises(JobFileError, match=message):
        load_job(write(tmp_path, text))


def test_a_grid_over_finite_values_loads(tmp_path):
    job = load_job(
        write(
            tmp_path,
            BASE.replace("log: true", "step: 0.5").replace("1.0e-3", "0.5")
            + "  solver: [lbfgs, newton-cg]\nsampler: grid\n",
        )
    )
    assert job.sampler == "grid"


def test_job_files_accept_exactly_the_registrys_samplers():
    from tunelab import _jobfile
    from tunelab.samplers import _registry

    assert _jobfile.SAMPLER_NAMES is _registry.SAMPLER_NAMES
    assert "grid" in _registry.SAMPLER_NAMES


def test_a_storage_value_that_is_no_url_names_the_file_and_key(tmp_path):
    # Found by a QA pass: the storage's own message named neither the job file nor the key.
    job = write(tmp_path, BASE + "storage: 'sqlite:/x.db'\n")
    with pytest.raises(
        JobFileError, match=r"job.yaml: storage: must be a database URL .*, got 'sqlite:/x.db'$"
    ):
        load_job(job)
    assert load_job(write(tmp_path, BASE + "storage: sqlite:///x.db\n")).storage_from_file
    assert not load_job(write(tmp_path, BASE)).storage_from_file


def test_one_name_with_two_ranges_in_two_branches_is_refused_naming_both(tmp_path):
    # Found by a QA pass: accepted, then every trial of the second branch failed ("Parameter
    # 'C' is Float(...) here but was ..."), since a study keeps one distribution per name.
    text = (
        "estimator: sklearn.linear_model.LogisticRegression\ndataset: iris\nspace:\n"
        "  penalty: {type: categorical, choices: {l2: {C: {type: float, low: 0.1, high: 1}}, "
        "l1: {C: {type: float, low: 1, high: 2}}}}\n"
    )
    with pytest.raises(
        JobFileError,
        match=r"job.yaml: space.penalty.choices.l1.C: is \{type: float, low: 1, high: 2\} here "
        r"but \{type: float, low: 0.1, high: 1\} at space.penalty.choices.l2.C; .*give C the "
        r"same range in both places$",
    ):
        load_job(write(tmp_path, text))
    same = load_job(write(tmp_path, text.replace("low: 1, high: 2", "low: 0.1, high: 1")))
    assert same.space["penalty"]["l1"]["C"] == same.space["penalty"]["l2"]["C"]


@pytest.mark.parametrize("name", ["job.yaml", "job.toml"])
@pytest.mark.parametrize(
    ("encode", "message"),
    [
        (lambda text: text.encode("utf-16"), r"the job file is UTF-16 text, not UTF-8; save it"),
        (
            lambda text: text.replace("sklearn", "sklearné").encode("latin-1"),
            r"the job file is not UTF-8 text \(byte 0xe9 at offset \d+\); save it as UTF-8",
        ),
    ],
    ids=["utf-16", "latin-1"],
)
def test_a_job_file_that_is_not_utf8_is_one_error(tmp_path, name, encode, message):
    # Found by a QA pass: a UnicodeDecodeError traceback.
    text = TOML_JOB if name.endswith(".toml") else BASE
    path = tmp_path / name
    path.write_bytes(encode(text))
    with pytest.raises(JobFileError, match=f"^{path}: {message}"):
        load_job(path)


TOML_JOB = (
    'estimator = "sklearn.tree.DecisionTreeClassifier"\ndataset = "wine"\n[space]\n'
    'max_depth = { type = "int", low = 1, high = 8 }\n'
)


@pytest.mark.parametrize(("name", "text"), [("job.toml", TOML_JOB), ("job.yaml", BASE)])
def test_a_byte_order_mark_is_accepted(tmp_path, name, text):
    # Found by a QA pass: a BOM on a TOML job gave "Invalid statement (at line 1, column 1)".
    path = tmp_path / name
    path.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode())
    assert load_job(path).estimator.startswith("sklearn.")


def test_an_upper_case_toml_suffix_is_reported_as_toml(tmp_path):
    # Found by a QA pass: parsed as TOML, reported as "not valid YAML".
    with pytest.raises(JobFileError, match=r"JOB.TOML: not valid TOML: "):
        load_job(write(tmp_path, "estimator = [\n", name="JOB.TOML"))
    assert load_job(write(tmp_path, TOML_JOB, name="TREE.TOML")).space


def test_numbers_yaml_1_1_reads_as_strings_are_numbers_among_choices_too(tmp_path):
    # Found by a QA pass: `C: [1e-3, 1e-1, 1e1]` gave the strings '1e-3', ... and every
    # trial failed in SVC; bounds were already read as numbers.
    job = load_job(
        write(
            tmp_path,
            BASE.replace(
                "{type: float, low: 1.0e-3, high: 100, log: true}", "[1e-3, 1.0e1, '1', inf, abc]"
            ),
        )
    )
    assert job.space["C"].choices == (1e-3, 10.0, "1", "inf", "abc")
