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


def test_no_finite_score_says_which_configurations_failed_how():
    import warnings

    import pytest

    from tunelab.sklearn._failures import report_no_finite_score

    fit_error = _formatted(ValueError("only one class"))
    with pytest.warns(UserWarning) as caught:
        report_no_finite_score(["FAIL", "FAIL", "FAIL"], "roc_auc", [[fit_error], [], []])
    (message,) = [str(w.message) for w in caught]
    assert "1 configuration(s) had fits that failed" in message
    assert "1 fit(s) failed with: ValueError: only one class" in message
    assert "scoring='roc_auc' gave NaN on the 2 configuration(s) whose fits worked" in message
    with pytest.warns(UserWarning, match="scoring='roc_auc' gave NaN on every one of the 2"):
        report_no_finite_score(["FAIL", "FAIL"], "roc_auc", [[], []])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report_no_finite_score(["FAIL", "COMPLETE"], "roc_auc", [[fit_error], []])
