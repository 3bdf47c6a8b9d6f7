"""Run a job file: tune a scikit-learn estimator with cross-validation, then score the best
configuration once on a held-out test split the search never saw."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._csv_checks import delimiter_hint, index_column_note
from ._frozen import TrialState
from ._jobfile import JobFileError, JobSpec
from ._metric_record import name_metric
from ._space import sample_space
from ._study import Study, create_study
from .exceptions import InvalidParameterError, StorageError, TrialPruned

#: Study attribute holding the seed of the train/test split and the folds, so a resumed study
#: keeps the rows its held-out test score is computed on out of every run's search.
SPLIT_SEED_ATTR = "tune_split_seed"
TASK_ATTR = "tune_task"


@dataclass
class TuneResult:
    study: Study
    best_params: dict[str, Any]
    cv_score: float
    test_score: float
    scoring: str
    n_train: int
    n_test: int
    split_seed: int
    notes: list[str] = field(default_factory=list)


def is_classification(job: JobSpec) -> bool:
    """Whether the job's estimator is a classifier (else a regressor), as scikit-learn says."""
    from ._jobfile import estimator_task, load_estimator_class

    cls = load_estimator_class(job.path, job.estimator)
    return estimator_task(cls, job.params) == "classification"


def load_data(job: JobSpec, notes: list[str] | None = None) -> tuple[Any, np.ndarray, bool]:
    """Features, target, and whether the task is classification (the estimator decides, not
    the target: a regressor on integer targets is regression). What the user should hear of
    the data (rows left out, an index column) is appended to ``notes`` when given."""
    classification = is_classification(job)
    if job.dataset.builtin is not None:
        from sklearn import datasets

        bunch = getattr(datasets, f"load_{job.dataset.builtin}")()
        return bunch.data, bunch.target, classification
    import pandas as pd

    csv, target = job.dataset.csv, job.dataset.target
    assert csv is not None and target is not None
    try:
        frame = pd.read_csv(csv)
    except (OSError, ValueError) as exc:
        # pandas' messages end in a newline or span lines; the CLI prints one.
        raise JobFileError(
            f"{job.path}: dataset.csv: cannot read {csv} ({_one_line(str(exc))})"
        ) from None
    if target not in frame.columns:
        hint = delimiter_hint(frame, target, csv)
        if hint is not None:
            raise JobFileError(
                f"{job.path}: dataset.csv: column {target!r} is not in {csv.name}: {hint}"
            )
        raise JobFileError(
            f"{job.path}: dataset.target: column {target!r} is not in {csv.name} "
            f"(columns: {', '.join(map(str, frame.columns))})"
        )
    # Each of these crashed the provisional split ("n_samples=0") or failed every trial
    # ("0 feature(s)").
    if frame.empty:
        raise JobFileError(
            f"{job.path}: dataset.csv: {csv.name} has a header but no rows; it needs rows of data"
        )
    rows = len(frame)
    frame = frame.dropna(subset=[target])
    if frame.empty:
        raise JobFileError(
            f"{job.path}: dataset.target: column {target!r} is empty in all {rows} rows of "
            f"{csv.name}; fill it in, or name the column that holds the target"
        )
    if notes is not None:
        if len(frame) < rows:
            # The rows are in neither the search nor the test score; that went unsaid.
            notes.append(
                f"{rows - len(frame)} of the {rows} rows of {csv.name} have no value in the "
                f"target column {target!r}; they were left out"
            )
        index_note = index_column_note(frame, target)
        if index_note is not None:
            notes.append(index_note)
    y = frame.pop(target).to_numpy()
    if frame.shape[1] == 0:
        raise JobFileError(
            f"{job.path}: dataset.csv: {csv.name} has no column besides the target {target!r}; "
            "it needs feature columns to predict the target from"
        )
    if not frame.notna().any().any():
        raise JobFileError(
            f"{job.path}: dataset.csv: every column of {csv.name} besides the target {target!r} "
            f"is empty in the {len(y)} rows that have a target; it needs feature values"
        )
    return frame, y, classification


def _preprocessor(X: Any, scale: bool) -> Any:
    """Impute and encode table columns; scale numbers when asked (linear models, SVMs)."""
    from sklearn.compose import ColumnTransformer, make_column_selector
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = [SimpleImputer(strategy="median")] + ([StandardScaler()] if scale else [])
    if not hasattr(X, "dtypes"):
        return (
            make_pipeline(*numeric)
            if scale or np.isnan(np.asarray(X, float)).any()
            else "passthrough"
        )
    return ColumnTransformer(
        [
            ("num", make_pipeline(*numeric), make_column_selector(dtype_include="number")),
            (
                "cat",
                make_pipeline(
                    SimpleImputer(strategy="most_frequent"),
                    OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                ),
                make_column_selector(dtype_exclude="number"),
            ),
        ]
    )


def build_pipeline(job: JobSpec, X: Any) -> Any:
    from sklearn.pipeline import Pipeline

    from ._jobfile import load_estimator_class

    cls = load_estimator_class(job.path, job.estimator)
    model = cls(**job.params)
    return Pipeline([("prep", _preprocessor(X, job.scale)), ("model", model)])


def make_objective(
    job: JobSpec, X: Any, y: np.ndarray, classification: bool, seed: int | None = None
) -> Any:
    """Cross-validate one configuration fold by fold, reporting each fold so a pruner can stop
    it; ``seed`` (default: the job's) shuffles the folds."""
    from sklearn.base import clone
    from sklearn.metrics import check_scoring
    from sklearn.model_selection import KFold, StratifiedKFold

    pipeline = build_pipeline(job, X)
    scorer = check_scoring(pipeline, scoring=job.scoring)
    splitter_cls = StratifiedKFold if classification else KFold
    seed = job.seed if seed is None else seed
    folds = list(splitter_cls(job.cv, shuffle=True, random_state=seed).split(X, y))
    space = job.space

    def take(data: Any, index: np.ndarray) -> Any:
        return data.iloc[index] if hasattr(data, "iloc") else data[index]

    def objective(trial: Any) -> float:
        params = sample_space(trial, space)
        model = clone(pipeline).set_params(**{f"model__{k}": v for k, v in params.items()})
        scores = []
        for i, (train, test) in enumerate(folds):
            fitted = clone(model).fit(take(X, train), y[train])
            scores.append(float(scorer(fitted, take(X, test), y[test])))
            trial.report(float(np.mean(scores)), i)
            if trial.should_prune():
                raise TrialPruned()
        return float(np.mean(scores))

    return objective


def run_job(
    job: JobSpec,
    *,
    n_trials: int | None,
    timeout: float | None,
    show_progress_bar: bool,
    on_start: Callable[[list[str]], None] | None = None,
) -> TuneResult:
    """Check the job against its data and its stored study, then tune. ``on_start`` gets the
    notes for the user (rows left out, a kept split seed) once every check passed, just before
    the first trial: a refused job prints nothing but its error."""
    from sklearn.base import clone
    from sklearn.metrics import check_scoring
    from sklearn.model_selection import train_test_split

    from .samplers._registry import sampler_from_name
    from .storage import get_storage

    notes: list[str] = []
    X, y, classification = load_data(job, notes)
    check_job(job, y, classification)
    _check_rows(job, y, classification)
    stratify = y if classification else None
    # Checked on a provisional split too, so a refused job leaves no empty study behind; a
    # stratified split's class counts hardly depend on its seed.
    provisional = train_test_split(
        y, test_size=job.test_size, random_state=job.seed or 0, stratify=stratify
    )[0]
    _check_folds(job, provisional, classification)
    sampler = sampler_from_name(job.sampler, job.seed, space=job.space)
    try:
        backend = get_storage(job.storage)
    except (StorageError, InvalidParameterError) as exc:
        if not job.storage_from_file:
            raise
        # The storage's message names the URL, not where it came from.
        raise JobFileError(f"{job.path}: storage: {_first_line(str(exc))}") from None
    study = create_study(
        study_name=job.study_name,
        storage=backend,
        direction="maximize",
        sampler=sampler,
        seed=job.seed if sampler is None else None,
        load_if_exists=True,
    )
    _check_import_finished(study, job.storage)
    _check_same_task(study, job)
    _check_same_space(study, job)
    scoring = job.scoring or ("accuracy" if classification else "r2")
    name_metric(study, scoring)
    split_seed, note = _split_seed(study, job)
    if note is not None:
        notes.append(note)
    X_train, X_test, y_train, y_test = train_test_split(
        X,
        y,
        test_size=job.test_size,
        random_state=split_seed,
        stratify=stratify,
    )
    _check_folds(job, y_train, classification)
    objective = make_objective(job, X_train, y_train, classification, seed=split_seed)
    before = {t.number for t in study.get_trials(deepcopy=False)}
    if on_start is not None:
        on_start(notes)
    # A configuration that cannot be fitted is one FAIL trial (as error_score does in
    # scikit-learn's searches); the search goes on with the next one.
    study.optimize(
        objective,
        n_trials=n_trials,
        timeout=timeout,
        n_jobs=job.n_jobs,
        trial_timeout=job.trial_timeout,
        catch=(Exception,),
        show_progress_bar=show_progress_bar,
    )
    ran = [t for t in study.get_trials(deepcopy=False) if t.number not in before]
    # This run's trials, not the study's: a resumed study whose new trials all failed reported
    # the best of its earlier ones and exited 0.
    failed_run = bool(ran) and all(t.state == TrialState.FAIL for t in ran)
    if failed_run or not study.get_trials((TrialState.COMPLETE,), deepcopy=False):
        raise JobFileError(_nothing_completed(job, ran))
    best = study.best_trial
    final = clone(build_pipeline(job, X_train)).set_params(
        **{f"model__{k}": v for k, v in best.params.items()}
    )
    final.fit(X_train, y_train)
    scorer = check_scoring(final, scoring=job.scoring)
    test_score = float(scorer(final, X_test, y_test))
    return TuneResult(
        study=study,
        best_params=dict(best.params),
        cv_score=float(best.value),  # type: ignore[arg-type]
        test_score=test_score,
        scoring=scoring,
        n_train=len(y_train),
        n_test=len(y_test),
        split_seed=split_seed,
        notes=notes,
    )


def _check_import_finished(study: Study, url: str) -> None:
    from ._transfer import unfinished_import

    # Resuming would add trials to a study a killed import left truncated.
    unfinished = unfinished_import(study.storage, study._study_id, url)
    if unfinished is not None:
        raise InvalidParameterError(unfinished)


def _check_same_task(study: Study, job: JobSpec) -> None:
    """A study resumed by a job that measures something else (another scorer, estimator or
    dataset) would rank values of two kinds against each other: MSE trials (about -3000) and
    R2 trials (about 0.5) made an R2 trial the best, and the sampler learnt from both. The
    first run stores what its values are; a later run must match it. A study stored before a
    key was added (csv, test_size) is checked on the keys it has."""
    task: dict[str, Any] = {
        "estimator": job.estimator,
        "dataset": job.dataset.builtin or f"csv target {job.dataset.target!r}",
    }
    if job.dataset.csv is not None:
        # The file's name, not its directory, so a moved file still resumes.
        task["csv"] = job.dataset.csv.name
    task["scoring"] = job.scoring or "the estimator's score"
    # Another test_size holds out other rows, some of which earlier runs searched on.
    task["test_size"] = job.test_size
    stored = study.user_attrs.get(TASK_ATTR)
    if stored is None:
        study.set_user_attr(TASK_ATTR, task)
        return
    for key, value in task.items():
        if key in stored and stored[key] != value:
            where, what = _TASK_KEYS.get(key, (key, key))
            why = (
                "the rows this split holds out for the test score were searched on by its "
                "earlier runs"
                if key == "test_size"
                else "their values cannot be ranked together"
            )
            raise JobFileError(
                f"{job.path}: {where}: study {study.study_name!r} holds trials of {what} "
                f"{stored[key]!r}, and this job has {value!r}; {why}. Use another study_name, "
                f"or {what} {stored[key]!r} again"
            )


#: Task keys whose job-file key or wording differ from the key: (job-file key, wording).
_TASK_KEYS = {"csv": ("dataset.csv", "CSV file"), "test_size": ("test_size", "test_size")}


def _check_same_space(study: Study, job: JobSpec) -> None:
    """A resumed study whose trials drew a parameter from another range than the job's: every
    new trial failed ("Parameter 'C' is Float(...) here but was ..."), since a study keeps one
    distribution per name. Refused before any trial."""
    from ._jobfile import describe_distribution, flat_space

    space = flat_space(job.path, job.space)
    seen: set[str] = set()
    for trial in study.get_trials(deepcopy=False):
        for name, stored in trial.distributions.items():
            if name in seen or name not in space:
                continue
            seen.add(name)
            key, dist = space[name]
            if stored != dist:
                raise JobFileError(
                    f"{job.path}: {key}: study {study.study_name!r} holds trials of {name} in "
                    f"{describe_distribution(stored)}, and this job has "
                    f"{describe_distribution(dist)}; a study keeps one range per parameter, so "
                    f"every new trial would fail. Use another study_name, or the old range of "
                    f"{name} again"
                )


def _split_seed(study: Study, job: JobSpec) -> tuple[int, str | None]:
    """The seed of the study's train/test split and folds, stored in the study on its first
    run: with ``seed: null`` every run drew a new split, and rows a resumed run held out for
    its test score had been searched on by the runs before."""
    stored = study.user_attrs.get(SPLIT_SEED_ATTR)
    if stored is not None:
        note = None
        if job.seed is not None and job.seed != stored:
            note = (
                f"the study splits its rows with seed {stored} (stored on its first run), not "
                f"the job's seed {job.seed}, so the held-out rows stay out of every run's search"
            )
        return int(stored), note
    seed = job.seed if job.seed is not None else int(np.random.SeedSequence().entropy % 2**32)
    study.set_user_attr(SPLIT_SEED_ATTR, seed)
    return seed, None


def _nothing_completed(job: JobSpec, trials: list[Any]) -> str:
    from collections import Counter

    failed = [t for t in trials if t.state == TrialState.FAIL]
    if not failed:
        return (
            f"{job.path}: no trial completed ({len(trials)} ran in this run); give it more "
            "trials or time"
        )
    reasons = Counter(_first_line(t.fail_reason or "unknown error") for t in failed)
    reason, count = reasons.most_common(1)[0]
    example = next(t for t in failed if _first_line(t.fail_reason or "unknown error") == reason)
    return (
        f"{job.path}: space: every trial failed ({len(failed)} of {len(trials)}); "
        f"{count} with {reason} (e.g. trial {example.number}: {dict(example.params)})"
    )


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _first_line(text: str) -> str:
    lines = [line for line in str(text).strip().splitlines() if line.strip()]
    return lines[0][:300] if lines else type(text).__name__


def _plain(value: Any) -> Any:
    """The Python value of a NumPy scalar, whose repr (np.int64(0)) is no way to name a class."""
    return value.item() if isinstance(value, np.generic) else value


def _target_name(job: JobSpec) -> str:
    if job.dataset.builtin is not None:
        return f"the target of {job.dataset.builtin}"
    return f"column {job.dataset.target!r}"


def single_row_classes(y: Any, target_name: str) -> str | None:
    """Which classes of a classification target have a single row, as the start of a message
    ("24 of the 94 classes of column 'body_mass_g' have a single row (2700.0, ...)"), or None.

    Shared by ``tunelab tune`` and ``tunelab automl``: such a class can be neither stratified
    nor scored, and many of them mean a quantity taken for classes (body mass in grams scored
    a CV accuracy of 0.06 under ``automl --task classification``)."""
    labels, counts = np.unique(np.asarray(y), return_counts=True)
    single = labels[counts < 2]
    if not len(single):
        return None
    shown = ", ".join(repr(_plain(v)) for v in single[:5]) + (", ..." if len(single) > 5 else "")
    return (
        f"{len(single)} of the {len(labels)} classes of {target_name} have a single row ({shown})"
    )


def check_job(job: JobSpec, y: np.ndarray, classification: bool) -> None:
    """What load_job cannot see without the data: the fixed parameters' values, the target
    against the estimator, and the scorer against both. Each failed every trial, or crashed
    the command with a traceback, before it was checked here."""
    from ._jobfile import load_estimator_class

    cls = load_estimator_class(job.path, job.estimator)
    name = cls.__name__
    _check_params(job, cls)
    key = "dataset" if job.dataset.builtin is not None else "dataset.target"
    if classification:
        from sklearn.utils.multiclass import type_of_target

        kind = type_of_target(y)
        if kind.startswith("continuous"):
            raise JobFileError(
                f"{job.path}: estimator: {name} is a classifier, but {_target_name(job)} is "
                f"continuous (values like {_plain(y[0])!r}); use a regressor"
            )
        single = single_row_classes(y, _target_name(job))
        if single is not None:
            raise JobFileError(
                f"{job.path}: {key}: {single}; {name} is a classifier, and the held-out split "
                "and the stratified folds need 2 rows of every class (use a regressor if the "
                "target is a quantity)"
            )
    else:
        try:
            y.astype(float)
        except (TypeError, ValueError):
            raise JobFileError(
                f"{job.path}: estimator: {name} is a regressor, but {_target_name(job)} holds "
                f"labels such as {_plain(y[0])!r}; use a classifier"
            ) from None
    if job.scoring is not None:
        _check_scoring(job, cls, y, classification)


def _check_params(job: JobSpec, cls: type) -> None:
    try:
        model = cls(**job.params)
        validate = getattr(model, "_validate_params", None)
        if callable(validate):
            validate()
    except (TypeError, ValueError) as exc:
        problem = _first_line(str(exc))
        culprit = next((k for k in job.params if f"'{k}' parameter" in problem), None)
        where = f"params.{culprit}" if culprit else "params"
        raise JobFileError(f"{job.path}: {where}: {problem}") from None


def _some_instance_has(cls: type, job: JobSpec, methods: tuple[str, ...]) -> bool:
    from ._space import Categorical, Distribution

    settings = [dict(job.params)]
    for name, node in job.space.items():
        if not isinstance(node, Distribution):
            return True  # a conditional space: its branches are not enumerated here
        if isinstance(node, Categorical):
            settings += [{**job.params, name: choice} for choice in node.choices]
    for params in settings:
        try:
            instance = cls(**params)
        except Exception:  # the params check reports a bad value with its own message
            return True
        if any(hasattr(instance, m) for m in methods):
            return True
    return False


def _check_scoring(job: JobSpec, cls: type, y: np.ndarray, classification: bool) -> None:
    from sklearn.metrics import get_scorer

    from .automl._metric import _score_func_kind, multiclass_scorer_hint, score_predictions

    scoring, name = job.scoring, cls.__name__
    task = "classification" if classification else "regression"
    scorer = get_scorer(scoring)
    kind = _score_func_kind(scorer)
    if kind in ("classification", "regression") and kind != task:
        other = "'accuracy' or 'f1_macro'" if classification else "'r2' or 'neg_mean_squared_error'"
        raise JobFileError(
            f"{job.path}: scoring: {scoring!r} is a {kind} metric, but {name} is a "
            f"{'classifier' if classification else 'regressor'}; use a {task} scorer such as "
            f"{other}"
        )
    methods = getattr(scorer, "_response_method", None)
    methods = (methods,) if isinstance(methods, str) else tuple(methods or ())
    if methods and not any(hasattr(cls, m) for m in methods):
        raise JobFileError(
            f"{job.path}: scoring: {scoring!r} needs {' or '.join(methods)}, which {name} does "
            "not have"
        )
    # Some methods exist only with some settings (SVC's predict_proba needs probability=True,
    # SGDClassifier's a probabilistic loss): instances answer for them where the class says
    # yes. One per choice of every categorical the search varies, since a choice may turn the
    # method on; a method no such instance has is missing from the whole space.
    if methods and not _some_instance_has(cls, job, methods):
        import inspect

        how = (
            "set probability: true in params"
            if "probability" in inspect.signature(cls).parameters
            else "change params"
        )
        raise JobFileError(
            f"{job.path}: scoring: {scoring!r} needs {' or '.join(methods)}, which {name} "
            f"offers only with other settings; {how}, or choose a scorer that uses predict"
        )
    # Uninformative predictions of the real target: a binary-only metric on three classes
    # fails here, with the scorer's own reason, instead of in every trial.
    labels, codes = np.unique(y, return_inverse=True)
    if classification:
        # The real labels, not codes: the search fits them, and a scorer's pos_label=1 fails
        # on "no"/"yes" (every trial failed) while it passed on codes 0/1.
        counts = np.bincount(codes, minlength=len(labels)).astype(float)
        pred = np.tile(counts / counts.sum(), (len(codes), 1))
        target, K = y, len(labels)
    else:
        target = y.astype(float)
        pred, K = np.full(len(target), float(np.mean(target))), 0
    try:
        score_predictions(scorer, task, target, pred, K, classes=labels)
    except Exception as exc:
        what = f"{len(labels)} classes" if classification else "a continuous target"
        problem = _first_line(str(exc))
        raise JobFileError(
            f"{job.path}: scoring: {scoring!r} does not fit {_target_name(job)} ({what}): "
            f"{problem.rstrip('.')}{multiclass_scorer_hint(scoring, problem)}"
        ) from None


def _split_sizes(n: int, test_size: float) -> tuple[int, int]:
    """Training and test rows of scikit-learn's train_test_split of ``n`` rows."""
    import math

    n_test = math.ceil(test_size * n)
    return n - n_test, n_test


def _rows_needed(job: JobSpec, classification: bool, n_classes: int) -> int:
    """Rows (of every class, for a classifier) a held-out split and ``job.cv`` folds need, so
    that each fold tests 2 rows (regression) and holds a row of every class (classification)."""
    import math

    if not classification:
        n = 2 * job.cv
        while _split_sizes(n, job.test_size)[0] < 2 * job.cv:
            n += 1
        return n
    # Of every class: cv rows left for training once its share of the test rows is taken, and
    # enough rows in all that the test split holds one of every class.
    c = 2
    while True:
        n_train, n_test = _split_sizes(n_classes * c, job.test_size)
        if c - math.ceil(c * job.test_size) >= job.cv and min(n_train, n_test) >= n_classes:
            return c
        c += 1


def _check_rows(job: JobSpec, y: np.ndarray, classification: bool) -> None:
    """Too few rows for any number of folds: the advice was "use cv: 2 or less" (cv must be
    2 or more, and 2 failed), or a traceback from the split (test rows fewer than classes)."""
    n = len(y)
    n_train, n_test = _split_sizes(n, job.test_size)
    key = "dataset" if job.dataset.builtin is not None else "dataset.csv"
    where = f"a held-out test split (test_size {job.test_size:g}) and {job.cv}-fold CV"
    if classification:
        n_classes = len(np.unique(y))
        if min(n_train, n_test) >= n_classes:
            return  # a smaller cv may do: _check_folds says which
        need = _rows_needed(job, classification, n_classes)
        raise JobFileError(
            f"{job.path}: {key}: too few rows ({n}, of {n_classes} classes) for {where}, "
            f"with a row of every class in each split; it needs at least {need} rows of every "
            "class"
        )
    if n_train >= 4:
        return  # cv: 2 fits: _check_folds says which cv does
    need = _rows_needed(job, classification, 0)
    raise JobFileError(
        f"{job.path}: {key}: too few rows ({n}) for {where}, with 2 test rows per fold; it "
        f"needs at least {need} rows"
    )


def _check_folds(job: JobSpec, y_train: np.ndarray, classification: bool) -> None:
    n = len(y_train)
    if classification:
        labels, counts = np.unique(y_train, return_counts=True)
        smallest = int(counts.min())
        if job.cv > smallest:
            if smallest >= 2:
                fix = f"use cv: {smallest} or less"
            else:
                need = _rows_needed(job, classification, len(labels))
                fix = (
                    f"give every class at least {need} rows (cv: {job.cv} and test_size "
                    f"{job.test_size:g}), or drop the rarest classes"
                )
            raise JobFileError(
                f"{job.path}: cv: {job.cv} stratified folds need {job.cv} rows of every class in "
                f"the {n} training rows, but class {_plain(labels[counts.argmin()])!r} has "
                f"{smallest}; {fix}"
            )
    elif n < 2 * job.cv:
        # _check_rows saw to n >= 4 (every split of the rows has as many), so cv: 2 fits.
        raise JobFileError(
            f"{job.path}: cv: {job.cv} folds of the {n} training rows leave fewer than 2 test "
            f"rows per fold; use cv: {n // 2} or less"
        )
