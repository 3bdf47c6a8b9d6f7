from __future__ import annotations

import traceback

from tunelab.sklearn._failures import error_summary


def _formatted(exc: BaseException) -> str:
    try:
        raise exc
    except BaseException:
        return traceback.format_exc()


def test_summary_is_the_error_line_even_for_multiline_messages():
    text = _formatted(ValueError("Complex data not supported\n[[1+2j]\n [3]]"))
    assert error_summary(text) == "ValueError: Complex data not supported"


def test_summary_of_a_chained_error_is_the_last_one():
    try:
        try:
            raise KeyError("inner")
        except KeyError as exc:
            raise RuntimeError("outer") from exc
    except RuntimeError:
        text = traceback.format_exc()
    assert error_summary(text) == "RuntimeError: outer"
