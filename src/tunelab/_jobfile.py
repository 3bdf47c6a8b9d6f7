"""Job files for ``tunelab tune``: a YAML or TOML file that names a scikit-learn estimator, a
dataset, a search space, a metric and a budget. Every problem is reported as one line naming
the file, the key and what is wrong."""

from __future__ import annotations

import difflib
import importlib
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._space import Categorical, Distribution, Float, Int
from .exceptions import InvalidParameterError
from .samplers._registry import SAMPLER_NAMES, GridSpaceError, grid_from_space

BUILTIN_DATASETS = ("breast_cancer", "diabetes", "digits", "iris", "wine")
DEFAULT_STORAGE = "sqlite:///tunelab.db"


def default_storage() -> str:
    """The storage URL used when none is given: ``$TUNELAB_STORAGE``, else ``DEFAULT_STORAGE``."""
    return os.environ.get("TUNELAB_STORAGE", DEFAULT_STORAGE)


class JobFileError(Exception):
    """A job file that cannot be run; the message is the one line the CLI prints."""


@dataclass
class DatasetSpec:
    builtin: str | None = None
    csv: Path | None = None
    target: str | None = None


@dataclass
class JobSpec:
    path: Path
    estimator: str
    space: dict[str, Any]
    dataset: DatasetSpec
    params: dict[str, Any] = field(default_factory=dict)
    scoring: str | None = None
    cv: int = 5
    n_trials: int | None = None
    timeout: float | None = None
    trial_timeout: float | None = None
    storage: str = DEFAULT_STORAGE
    study_name: str | None = None
    sampler: str = "auto"
    seed: int | None = 0
    test_size: float = 0.25
    n_jobs: int = 1
    scale: bool = False
    #: Whether ``storage`` is the job file's own key (not --storage or the default), so that
    #: a storage that cannot be opened is reported against the file.
    storage_from_file: bool = False


_KEYS: dict[str, str] = {
    "estimator": "an import path such as 'sklearn.svm.SVC'",
    "space": "a mapping of parameter name -> distribution",
    "dataset": "a built-in name or {csv: PATH, target: COLUMN}",
    "params": "a mapping of fixed estimator parameters",
    "scoring": "a scikit-learn scorer name",
    "cv": "an int >= 2",
    "n_trials": "a positive int",
    "timeout": "a positive number of seconds",
    "trial_timeout": "a positive number of seconds",
    "storage": "a database URL",
    "study_name": "a string",
    "sampler": "one of " + ", ".join(SAMPLER_NAMES),
    "seed": "a non-negative int",
    "test_size": "a fraction between 0 and 1",
    "n_jobs": "a positive int or -1",
    "scale": "true or false",
}


def _err(path: Path, key: str, problem: str) -> JobFileError:
    return JobFileError(f"{path}: {key}: {problem}")


def _read(path: Path) -> Mapping[str, Any]:
    fmt = "TOML" if path.suffix.lower() == ".toml" else "YAML"
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise JobFileError(f"{path}: cannot read the job file ({exc.strerror}).") from None
    text = _decode(path, raw)
    try:
        if fmt == "TOML":
            import tomllib

            data = tomllib.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise JobFileError(f"{path}: not valid {fmt}: {first}") from None
    if not isinstance(data, Mapping):
        raise JobFileError(
            f"{path}: the job file must be a mapping of keys (estimator, space, ...)."
        )
    return data


def _decode(path: Path, raw: bytes) -> str:
    """The job file's text: UTF-8, with or without a byte-order mark (an editor's BOM made a
    TOML job "Invalid statement (at line 1, column 1)"), newlines as open() reads them. Any
    other encoding is one line, not a UnicodeDecodeError traceback."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise JobFileError(f"{path}: the job file is UTF-16 text, not UTF-8; save it as UTF-8")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise JobFileError(
            f"{path}: the job file is not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset "
            f"{exc.start}); save it as UTF-8"
        ) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _int(path: Path, key: str, value: Any, low: int, allow_minus_one: bool = False) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or (value < low and not (allow_minus_one and value == -1))
    ):
        raise _err(path, key, f"must be {_KEYS[key]}, got {value!r}")
    return value


def _number(path: Path, key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _err(path, key, f"must be {_KEYS[key]}, got {value!r}")
    return float(value)


def parse_distribution(path: Path, key: str, spec: Any) -> Distribution | dict[str, Any]:
    """A space entry: {type: float|int|categorical, ...}, a list (categorical), or a
    categorical whose ``choices`` map each choice to a sub-space (conditional)."""
    if isinstance(spec, list):
        spec = {"type": "categorical", "choices": spec}
    if not isinstance(spec, Mapping):
        raise _err(
            path,
            key,
            f"must be a mapping like {{type: float, low: 0.1, high: 10}} or a list of choices, got {spec!r}",
        )
    kind = spec.get("type")
    allowed = {
        "float": {"type", "low", "high", "log", "step"},
        "int": {"type", "low", "high", "log", "step"},
        "categorical": {"type", "choices"},
    }
    if kind not in allowed:
        raise _err(path, f"{key}.type", f"must be float, int or categorical, got {kind!r}")
    for extra in set(spec) - allowed[kind]:
        raise _err(
            path,
            f"{key}.{extra}",
            f"unknown key for a {kind} parameter (allowed: {', '.join(sorted(allowed[kind] - {'type'}))})",
        )
    try:
        if kind == "categorical":
            choices = spec.get("choices")
            if isinstance(choices, Mapping):
                branches: dict[str, Any] = {}
                for choice, sub in choices.items():
                    sub = sub or {}
                    if not isinstance(sub, Mapping):
                        raise _err(
                            path,
                            f"{key}.choices.{choice}",
                            f"must be a mapping of parameters, got {sub!r}",
                        )
                    branches[choice] = {
                        n: parse_distribution(path, f"{key}.choices.{choice}.{n}", s)
                        for n, s in sub.items()
                    }
                Categorical(list(branches))
                return branches
            if isinstance(choices, list):
                choices = [_yaml_exponent_number(c) for c in choices]
            return Categorical(choices)  # type: ignore[arg-type]
        for bound in ("low", "high"):
            if bound not in spec:
                raise _err(path, f"{key}.{bound}", "is missing")
        args = {k: _yaml_number(v) for k, v in spec.items() if k != "type"}
        return Float(**args) if kind == "float" else Int(**args)
    except InvalidParameterError as exc:
        raise _err(path, key, str(exc)) from None
    except TypeError as exc:
        raise _err(path, key, str(exc)) from None


def _yaml_number(value: Any) -> Any:
    # YAML 1.1 reads "1.0e3" (no sign in the exponent) as a string; users mean the number.
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


# What YAML 1.1 leaves a string but YAML 1.2 and every reader of the file take for a number:
# an exponent without a dot (1e-3) or without a sign (1.0e3).
_EXPONENT_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+")


def _yaml_exponent_number(value: Any) -> Any:
    # Only this form: a choice "1" or "inf" may well be meant as a string.
    if isinstance(value, str) and _EXPONENT_NUMBER.fullmatch(value):
        return float(value)
    return value


def _closest(word: str, options: Any) -> str:
    match = difflib.get_close_matches(word, list(options), n=1)
    return f" (did you mean {match[0]!r}?)" if match else ""


def load_estimator_class(path: Path, dotted: Any) -> type:
    if not isinstance(dotted, str) or "." not in dotted:
        raise _err(path, "estimator", f"must be {_KEYS['estimator']}, got {dotted!r}")
    module_name, _, attr = dotted.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise _err(path, "estimator", f"cannot import module {module_name!r} ({exc})") from None
    cls = getattr(module, attr, None)
    if cls is None:
        public = [n for n in dir(module) if not n.startswith("_")]
        raise _err(
            path, "estimator", f"module {module_name!r} has no {attr!r}{_closest(attr, public)}"
        )
    if not isinstance(cls, type) or not hasattr(cls, "get_params") or not hasattr(cls, "fit"):
        raise _err(path, "estimator", f"{dotted!r} is not a scikit-learn estimator class")
    if estimator_task(cls) is None:
        # A transformer or clusterer passed every check before and crashed at scoring time.
        from sklearn.base import ClusterMixin

        if issubclass(cls, ClusterMixin):
            kind = "a clusterer, not"
        else:
            kind = "a transformer, not" if hasattr(cls, "transform") else "not"
        raise _err(
            path,
            "estimator",
            f"{dotted!r} is {kind} a classifier or regressor; tune scores its predictions of "
            "the target, so it needs one (such as sklearn.svm.SVC or sklearn.linear_model.Ridge)",
        )
    return cls


def estimator_task(cls: type, params: Mapping[str, Any] | None = None) -> str | None:
    """'classification' or 'regression' by scikit-learn's own test of the estimator, None for
    anything else."""
    from sklearn.base import ClassifierMixin, RegressorMixin, is_classifier, is_regressor

    try:
        estimator: Any = cls(**(params or {}))
    except Exception:
        # Estimators with required arguments: the mixins say what they are.
        if issubclass(cls, ClassifierMixin):
            return "classification"
        return "regression" if issubclass(cls, RegressorMixin) else None
    if is_classifier(estimator):
        return "classification"
    return "regression" if is_regressor(estimator) else None


def load_job(path: str | Path) -> JobSpec:
    path = Path(path)
    data = _read(path)
    for key in data:
        if key not in _KEYS:
            raise _err(
                path,
                str(key),
                f"unknown key{_closest(str(key), _KEYS)}; allowed keys: {', '.join(_KEYS)}",
            )
    for required in ("estimator", "space", "dataset"):
        if required not in data:
            raise _err(path, required, f"is required ({_KEYS[required]})")
    cls = load_estimator_class(path, data["estimator"])
    valid = set(cls().get_params()) if _constructible(cls) else None

    params = data.get("params") or {}
    if not isinstance(params, Mapping):
        raise _err(path, "params", f"must be {_KEYS['params']}, got {params!r}")
    raw_space = data["space"]
    if not isinstance(raw_space, Mapping) or not raw_space:
        raise _err(
            path,
            "space",
            f"must be {_KEYS['space']} with at least one parameter, got {raw_space!r}",
        )
    space = {
        str(name): parse_distribution(path, f"space.{name}", spec)
        for name, spec in raw_space.items()
    }
    flat_space(path, space)  # one distribution per name
    names = _all_names(space)
    for name in params:
        if name in names:
            raise _err(
                path,
                f"params.{name}",
                "is also in space; a parameter is either fixed (params) or searched (space)",
            )
    if valid is not None:
        for name in list(params) + names:
            if name not in valid:
                raise _err(
                    path,
                    f"space.{name}" if name not in params else f"params.{name}",
                    f"{cls.__name__} has no parameter {name!r}{_closest(name, valid)}",
                )

    dataset = _dataset(path, data["dataset"])
    spec = JobSpec(
        path=path, estimator=data["estimator"], space=space, dataset=dataset, params=dict(params)
    )
    if "scoring" in data:
        spec.scoring = _scoring(path, data["scoring"])
    if "cv" in data:
        spec.cv = _int(path, "cv", data["cv"], 2)
    if "n_trials" in data and data["n_trials"] is not None:
        spec.n_trials = _int(path, "n_trials", data["n_trials"], 1)
    for key in ("timeout", "trial_timeout"):
        if key in data and data[key] is not None:
            seconds = _number(path, key, data[key])
            if seconds <= 0:
                raise _err(path, key, f"must be {_KEYS[key]}, got {data[key]!r}")
            setattr(spec, key, seconds)
    for key in ("storage", "study_name"):
        if key in data and data[key] is not None:
            if not isinstance(data[key], str) or not data[key]:
                raise _err(path, key, f"must be {_KEYS[key]}, got {data[key]!r}")
            setattr(spec, key, data[key])
    spec.storage_from_file = data.get("storage") is not None
    if spec.storage_from_file:
        _storage_url(path, spec.storage)
    else:
        # Same fallback as every other command, so `tunelab studies` finds what `tune` wrote.
        spec.storage = default_storage()
    if "sampler" in data:
        if data["sampler"] not in SAMPLER_NAMES:
            raise _err(path, "sampler", f"must be {_KEYS['sampler']}, got {data['sampler']!r}")
        spec.sampler = data["sampler"]
        if spec.sampler == "grid":
            try:
                grid_from_space(space)
            except GridSpaceError as exc:
                raise _err(path, f"space.{exc.name}", str(exc)) from None
    if "seed" in data:
        spec.seed = None if data["seed"] is None else _int(path, "seed", data["seed"], 0)
    if "test_size" in data:
        spec.test_size = _number(path, "test_size", data["test_size"])
        if not 0 < spec.test_size < 1:
            raise _err(
                path, "test_size", f"must be {_KEYS['test_size']}, got {data['test_size']!r}"
            )
    if "n_jobs" in data:
        spec.n_jobs = _int(path, "n_jobs", data["n_jobs"], 1, allow_minus_one=True)
    if "scale" in data:
        if not isinstance(data["scale"], bool):
            raise _err(path, "scale", f"must be {_KEYS['scale']}, got {data['scale']!r}")
        spec.scale = data["scale"]
    if spec.study_name is None:
        spec.study_name = path.stem
    return spec


def _storage_url(path: Path, url: str) -> None:
    from .storage._engine import parse_url

    try:
        parse_url(url)
    except InvalidParameterError:
        raise _err(
            path,
            "storage",
            f"must be {_KEYS['storage']} such as 'sqlite:///tunelab.db' or "
            f"'postgresql+psycopg://user@host/db', got {url!r}",
        ) from None


def _constructible(cls: type) -> bool:
    try:
        cls()
        return True
    except Exception:
        return False


def flat_space(path: Path, space: Mapping[str, Any]) -> dict[str, tuple[str, Distribution]]:
    """Every parameter the space draws, with the key that declares it and its distribution (a
    conditional categorical draws its choices). A study keeps one distribution per name, so a
    name declared twice with two ranges (in two branches) is refused: it was accepted, and the
    trials of the branch drawn second all failed."""
    found: dict[str, tuple[str, Distribution]] = {}

    def walk(nodes: Mapping[str, Any], prefix: str) -> None:
        for name, node in nodes.items():
            key = f"{prefix}.{name}"
            dist = node if isinstance(node, Distribution) else Categorical(list(node))
            if name in found and found[name][1] != dist:
                first_key, first = found[name]
                raise _err(
                    path,
                    key,
                    f"is {describe_distribution(dist)} here but "
                    f"{describe_distribution(first)} at {first_key}; a study keeps one range "
                    f"per parameter name, so the trials that drew the second one would all "
                    f"fail; give {name} the same range in both places",
                )
            found.setdefault(name, (key, dist))
            if isinstance(node, Mapping):
                for choice, sub in node.items():
                    walk(sub, f"{key}.choices.{choice}")

    walk(space, "space")
    return found


def describe_distribution(dist: Distribution) -> str:
    """A distribution as a job file writes it: {type: float, low: 0.001, high: 1000, log: true}."""
    import json

    if isinstance(dist, Categorical):
        return json.dumps(list(dist.choices))
    spec = dist.to_dict()
    parts = [f"type: {spec['type']}", f"low: {_plain_number(spec['low'])}"]
    parts.append(f"high: {_plain_number(spec['high'])}")
    if spec.get("log"):
        parts.append("log: true")
    if spec.get("step") not in (None, 1):
        parts.append(f"step: {_plain_number(spec['step'])}")
    return "{" + ", ".join(parts) + "}"


def _plain_number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def _all_names(space: Mapping[str, Any]) -> list[str]:
    names = []
    for name, node in space.items():
        names.append(name)
        if isinstance(node, Mapping):
            for sub in node.values():
                names.extend(_all_names(sub))
    return names


def _scoring(path: Path, value: Any) -> str:
    from sklearn.metrics import get_scorer_names

    names = get_scorer_names()
    if not isinstance(value, str) or value not in names:
        raise _err(path, "scoring", f"unknown scorer {value!r}{_closest(str(value), names)}")
    return value


def _dataset(path: Path, value: Any) -> DatasetSpec:
    if isinstance(value, str):
        if value not in BUILTIN_DATASETS:
            raise _err(
                path,
                "dataset",
                f"unknown built-in dataset {value!r}{_closest(value, BUILTIN_DATASETS)}; "
                f"use one of {', '.join(BUILTIN_DATASETS)} or {{csv: PATH, target: COLUMN}}",
            )
        return DatasetSpec(builtin=value)
    if isinstance(value, Mapping):
        extra = set(value) - {"csv", "target"}
        if extra:
            raise _err(path, f"dataset.{sorted(extra)[0]}", "unknown key (allowed: csv, target)")
        if not isinstance(value.get("csv"), str):
            raise _err(
                path, "dataset.csv", f"must be a path to a CSV file, got {value.get('csv')!r}"
            )
        if not isinstance(value.get("target"), str):
            raise _err(
                path,
                "dataset.target",
                f"must be the name of the target column, got {value.get('target')!r}",
            )
        csv = Path(value["csv"])
        if not csv.is_absolute():
            csv = (path.parent / csv).resolve()
        return DatasetSpec(csv=csv, target=value["target"])
    raise _err(path, "dataset", f"must be {_KEYS['dataset']}, got {value!r}")
