"""One way to shorten a description for a list: one line, an ellipsis when cut."""

from __future__ import annotations

from dispatch_console.kernel.text import summary


def test_summary_folds_to_one_line_and_cuts_with_an_ellipsis() -> None:
    assert summary("楼上漏水\n引发  邻里纠纷", 40) == "楼上漏水 引发 邻里纠纷"
    assert summary("一二三四五六", 6) == "一二三四五六"
    assert summary("一二三四五六七", 6) == "一二三四五…"
    assert len(summary("x" * 500, 120)) == 120
    assert summary(None, 10) == "" and summary("   ", 10) == ""
