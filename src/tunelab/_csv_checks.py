"""Checks of a CSV file as read, shared by ``tunelab automl`` and ``tunelab tune``: both read
comma-separated files with pandas and must say what went wrong in the user's terms."""

from __future__ import annotations

from typing import Any

# What a file that is not comma-separated most likely uses instead, and its name.
_OTHER_SEPARATORS = {"\t": "tab", ";": "semicolon", "|": "'|'"}


def delimiter_hint(frame: Any, target: str, path: Any) -> str | None:
    """Why ``target`` is missing from a CSV that read as one column: it is not comma-separated.

    None unless the file read as a single column whose name holds another separator or the
    target's name. Shared by ``tunelab automl`` and ``tunelab tune``, which read commas only:
    the bare "no column 'species'; columns are species<TAB>island..." hid the cause."""
    if frame.shape[1] != 1:
        return None
    header = str(frame.columns[0])
    sep = next((s for s in _OTHER_SEPARATORS if s in header), None)
    if sep is None and target not in header:
        return None
    shown = header if len(header) <= 40 else header[:37] + "..."
    name = str(path)
    if sep is None:
        return (
            f"{name} was read as a single column named {shown!r}; only comma-separated files are "
            "read, so save it with commas between the columns"
        )
    # A semicolon file often has decimal commas too (pandas then still reads one column).
    decimal = " (with decimal=',' if its numbers have decimal commas)" if sep == ";" else ""
    return (
        f"{name} was read as a single column named {shown!r}: it looks "
        f"{_OTHER_SEPARATORS[sep]}-separated, and only comma-separated files are read; "
        f'convert it first: python -c "import pandas as pd; pd.read_csv({name!r}, '
        f"sep={sep!r}).to_csv('converted.csv', index=False)\"{decimal}"
    )


def index_column_note(frame: Any, target: str) -> str | None:
    """A warning for a column that pandas' ``to_csv`` wrote from the index ("Unnamed: 0"):
    a row number is a feature that leaks the file's order (a file sorted by class gave CV
    accuracy 1.0), and nothing said so. Shared by ``tunelab automl`` and ``tunelab tune``."""
    import re

    import numpy as np
    import pandas as pd

    for column in frame.columns:
        if column == target or not re.fullmatch(r"Unnamed: \d+", str(column)):
            continue
        values = frame[column]
        if not pd.api.types.is_integer_dtype(values.dtype) or len(values) < 2:
            continue
        if bool(np.all(np.diff(values.to_numpy()) > 0)):
            return (
                f"column {column!r} looks like a row index that pandas wrote (it counts "
                f"{values.iloc[0]}, {values.iloc[1]}, ... up the rows), and a row number "
                "predicts whatever order the file is in; drop that column (pandas writes the "
                "file without it with to_csv(..., index=False), and reads it as the index with "
                "read_csv(..., index_col=0))"
            )
    return None
