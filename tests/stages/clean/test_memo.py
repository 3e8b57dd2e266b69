"""The short-line memo: a short line is judged once, a long one every time."""

from __future__ import annotations

from service.stages.clean.memo import SHORT_LINE_CHARS, forget_lines, short_line_memo


def test_short_lines_are_judged_once_long_lines_every_time() -> None:
    calls: list[str] = []

    @short_line_memo
    def judge(line: str) -> int:
        calls.append(line)
        return len(line)

    short, long = "Share | Tweet", "x" * (SHORT_LINE_CHARS + 1)
    assert [judge(short), judge(short), judge(long), judge(long)] == [13, 13, 301, 301]
    assert calls == [short, long, long]
    forget_lines()
    assert judge(short) == 13
    assert calls == [short, long, long, short]
