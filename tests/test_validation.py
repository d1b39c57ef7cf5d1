"""One set of input checks for every entry point: the checks themselves, then the same refusals
through Index.search on the seed index and through the `qa` command's entry point."""
import datetime as dt

import numpy as np
import pytest

import qa
from qa import cli
from qa.validation import (MAX_HISTORY_TURNS, check_history, check_k, check_mode, check_where, normalize_query,
                           validate_request)

from corpus import PAKISTAN

BAD_K = ["five", None, 10**9, 0, -1, 51, True, False, 5.0, 2.5, "5", [5]]
BAD_WHERE = [
    {"lang": 5}, {"lang": {"$ne": "x"}}, {"lang": []}, {"lang": ["en", 3]}, {"source": b"bytes"},
    {"colour": "red"}, {1: "x"}, ["lang", "ar"], "lang=ar",
    {"date_from": "yesterday"}, {"date_from": "2025-13-45"}, {"date_from": "2025-02-30"},
    {"date_to": "2025-1-5"}, {"date_to": 20250101}, {"date_from": "0000"},
    {"date_from": "2025-06-01", "date_to": "2025-05-31"}, {"lang": "ar", "date_from": "yesterday"},
    {"lang": "drones \udcff"},
]
BAD_HISTORY = ["What?", [("only a question",)], [["q", None]], [["q", "a", "extra"]], [{"q": "a"}],
               [["q", "a"]] * (MAX_HISTORY_TURNS + 1), [["x" * 3000, "a"]], [["\udcff", "a"]], 5]


def one_line(exc: Exception) -> str:
    message = str(exc)
    assert "\n" not in message and len(message) < 300, message
    return message


@pytest.mark.parametrize("k", BAD_K, ids=repr)
def test_k_must_be_a_whole_number_in_range(k):
    with pytest.raises(qa.FilterError) as err:
        check_k(k, 50)
    assert "from 1 to 50" in one_line(err.value) and repr(k)[:20] in str(err.value)


def test_good_k_and_modes_pass_through():
    assert check_k(1, 50) == 1 and check_k(50, 50) == 50
    assert type(check_k(np.int64(7), 50)) is int
    assert [check_mode(m) for m in ("hybrid", "dense", "lexical")] == ["hybrid", "dense", "lexical"]
    with pytest.raises(qa.FilterError, match="unknown search mode 'fuzzy'; valid: hybrid, dense, lexical"):
        check_mode("fuzzy")


@pytest.mark.parametrize("where", BAD_WHERE, ids=repr)
def test_bad_filters_are_refused_naming_the_filter(where):
    with pytest.raises(qa.FilterError) as err:
        check_where(where)
    message = one_line(err.value)
    if isinstance(where, dict) and len(where) == 1 and isinstance(next(iter(where)), str):
        assert next(iter(where)) in message


def test_filters_in_normal_form():
    assert check_where(None) is None and check_where({}) is None
    assert check_where({"lang": None, "date_from": "  "}) is None  # unset, not "match nothing"
    assert check_where({"lang": [" en ", "ar"], "source": "Reuters"}) == {"lang": ("en", "ar"), "source": "Reuters"}
    # A partial date_to means the end of its period: "until 2025-02" includes 28 February.
    assert check_where({"date_from": "2024", "date_to": "2024-02"}) == {"date_from": "2024", "date_to": "2024-02-29"}
    assert check_where({"date_to": "2025"}) == {"date_to": "2025-12-31"}
    assert check_where({"date_from": dt.date(2025, 3, 1)}) == {"date_from": "2025-03-01"}
    assert check_where({"date_from": "2025-03", "date_to": "2025-03"}) == {"date_from": "2025-03",
                                                                           "date_to": "2025-03-31"}


@pytest.mark.parametrize("history", BAD_HISTORY, ids=lambda h: repr(h)[:40])
def test_bad_history_is_refused(history):
    with pytest.raises(qa.HistoryError) as err:
        check_history(history, 2000)
    assert "history" in one_line(err.value)


def test_history_in_normal_form():
    assert check_history(None, 2000) == []
    assert check_history([["Q1?", "A1."], ("Q2?", "A2.")], 2000) == [("Q1?", "A1."), ("Q2?", "A2.")]
    long_answer = "a" * 10_000  # answers are not bounded by the query limit
    assert check_history([["Q?", long_answer]], 2000) == [("Q?", long_answer)]


def test_query_text_problems_have_their_own_errors():
    with pytest.raises(qa.InvalidQueryError, match=r"undecodable byte 0xff at character 8"):
        normalize_query("drones \udcff", 2000)  # what sys.argv holds for $'drones \xff'
    with pytest.raises(qa.InvalidQueryError, match="lone surrogate U\\+D800"):
        normalize_query("\ud800 drones", 2000)
    with pytest.raises(qa.InvalidQueryError, match="must be text"):
        normalize_query(b"drones", 2000)
    with pytest.raises(qa.EmptyQueryError):
        normalize_query(" \u200b ", 2000)
    with pytest.raises(qa.QueryTooLongError):
        normalize_query("x" * 2001, 2000)
    assert issubclass(qa.EmptyQueryError, qa.InputError) and issubclass(qa.InputError, ValueError)


def test_validate_request_returns_everything_checked(monkeypatch):
    request = validate_request("  Bayraktar\tdrones ", k=3, mode="dense", where={"lang": "en"},
                               history=[["Q?", "A."]], settings=qa.Settings())
    question, k, mode, where, history = request
    assert (question, k, mode, where, history) == ("Bayraktar drones", 3, "dense", {"lang": "en"}, [("Q?", "A.")])
    assert request.where is where
    with pytest.raises(qa.FilterError):
        validate_request("drones", k=60)
    monkeypatch.setenv("QA_MAX_K", "100")  # the setting, through the environment
    assert validate_request("drones", k=60).k == 60


# -- through the index ---------------------------------------------------------------------

def test_search_refuses_bad_input_before_any_work(index):
    for k in ("five", None, 10**9, 0, True):
        with pytest.raises(qa.FilterError, match="k must be a whole number"):
            index.search("drones", k=k)
    # Checked up front whatever the other filters select (no article is in Klingon).
    for where in ({"lang": "ar", "date_from": "yesterday"}, {"lang": "tlh", "date_to": "2025-02-30"},
                  {"lang": {"$ne": "x"}}, {"doc_id": 5}):
        with pytest.raises(qa.FilterError):
            index.search("drones", where=where)
    with pytest.raises(qa.InvalidQueryError):
        index.search("drones \udcff")


def test_partial_dates_cover_their_whole_period(index):
    full = index.search("defence cooperation", k=5, where={"date_from": "2025-10-01", "date_to": "2025-10-31"})
    assert full and all(p.doc_id == PAKISTAN for p in full)
    assert index.search("defence cooperation", k=5, where={"date_from": "2025-10", "date_to": "2025-10"}) == full
    assert index.search("defence cooperation", k=5, where={"date_to": "2025"}) == full


# -- through the command line --------------------------------------------------------------

@pytest.mark.parametrize("args", [
    ["search", "drones", "-k", "five"],
    ["search", "drones", "-k", "0"],
    ["ask", "drones", "-k", "1000000000"],
    ["search", "drones", "--mode", "fuzzy"],
    ["search", "drones", "--date-from", "2025-13-45"],
    ["ask", "drones", "--lang", "ar", "--date-from", "yesterday"],
    ["search", "drones", "--date-from", "2025-06", "--date-to", "2025-05"],
    ["ask", "drones \udcff"],
    ["search", "drones", "--lang", "\udcff"],
    ["search", "drones", "--index", "no-such-index-\udcff"],
], ids=lambda a: " ".join(a).encode("utf-8", "backslashreplace").decode())
def test_cli_bad_input_is_one_error_line(args, seed_index_dir, capsys):
    if "--index" not in args:
        args = [*args, "--index", str(seed_index_dir)]
    assert cli.main(args) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("qa: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err


@pytest.mark.parametrize("args", [["search"], ["search", "drones", "--frob"], ["frob"], ["ask", "drones", "\udcff"]])
def test_cli_malformed_command_lines_are_one_line_too(args, capsys):
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("qa: error: ") and err.count("\n") == 1 and "--help" in err, err
