"""The server-drawn bar chart: well-formed SVG, bars in proportion, zeros in their place,
an accessible name, every piece of text escaped, and nothing a strict CSP would block."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from markupsafe import Markup

from web.charts import ChartSize, bar_chart

SVG = "{http://www.w3.org/2000/svg}"
SIZE = ChartSize(width=130, height=60, left=10, bottom=10, top=0, gap=0)


def _chart(values: list[int], **given: str) -> Markup:
    labels = [f"day {n}" for n in range(len(values))]
    options = {"title": "Articles a day", "description": "A week.", "chart_id": "week", **given}
    return bar_chart(values, labels, size=SIZE, **options)


def _bars(chart: Markup) -> list[ET.Element]:
    return ET.fromstring(str(chart)).findall(f"{SVG}rect")


def test_bars_stand_in_proportion_to_their_values_on_one_baseline() -> None:
    bars = _bars(_chart([0, 2, 5, 1]))
    # 50 units tall (60 less the 10 under the baseline): 5 fills it, 2 is two fifths.
    assert [float(bar.get("height", "")) for bar in bars] == [0.0, 20.0, 50.0, 10.0]
    assert {float(bar.get("y", "")) + float(bar.get("height", "")) for bar in bars} == {50.0}
    # 120 units wide, four slots of 30, left to right after the 10 of the axis labels.
    assert [float(bar.get("x", "")) for bar in bars] == [10.0, 40.0, 70.0, 100.0]


def test_a_zero_keeps_its_place_and_each_bar_says_its_day_and_count() -> None:
    bars = _bars(_chart([3, 0, 3]))
    assert [bar.findtext(f"{SVG}title") for bar in bars] == ["day 0: 3", "day 1: 0", "day 2: 3"]
    assert bars[1].get("height") == "0"
    # The highest value, wherever it occurs, is the peak.
    assert [bar.get("class") for bar in bars] == ["bar peak", "bar", "bar peak"]


def test_nothing_at_all_draws_an_empty_chart_without_dividing_by_zero() -> None:
    chart = _chart([0] * 30)
    assert [bar.get("height") for bar in _bars(chart)] == ["0"] * 30
    assert "peak" not in chart


def test_the_chart_is_one_image_named_by_its_title_and_description() -> None:
    chart = _chart([1, 2], title="Articles a day on Border control", description="Max 2.")
    svg = ET.fromstring(str(chart))
    assert svg.get("role") == "img"
    assert svg.get("aria-labelledby") == "week-title week-desc"
    assert svg.find(f"{SVG}title[@id='week-title']").text == "Articles a day on Border control"  # type: ignore[union-attr]
    assert svg.find(f"{SVG}desc[@id='week-desc']").text == "Max 2."  # type: ignore[union-attr]


def test_the_axis_says_zero_the_highest_value_and_the_ends_of_the_span() -> None:
    chart = _chart([4, 9, 0], first_label="1 Dec", last_label="3 Dec")
    texts = [text.text for text in ET.fromstring(str(chart)).findall(f"{SVG}text")]
    assert texts == ["0", "9", "1 Dec", "3 Dec"]


def test_every_text_is_escaped() -> None:
    hostile = '<script>alert("x")</script> & "quotes"'
    chart = bar_chart(
        [1], [hostile], title=hostile, description=hostile, chart_id="c",
        first_label=hostile, last_label=hostile,
    )  # fmt: skip
    assert "<script>" not in chart
    svg = ET.fromstring(str(chart))  # still well-formed: nothing broke out of its element
    assert svg.findtext(f"{SVG}title") == hostile
    assert svg.findtext(f"{SVG}desc") == hostile
    assert svg.find(f"{SVG}rect").findtext(f"{SVG}title") == f"{hostile}: 1"  # type: ignore[union-attr]


def test_no_inline_style_for_a_strict_content_security_policy() -> None:
    chart = _chart([1, 2, 3])
    assert not re.search(r"\sstyle=", chart)
    assert "<style" not in chart


@pytest.mark.parametrize(
    ("values", "labels", "chart_id", "problem"),
    [
        ([1, 2], ["one"], "c", "one label for each value"),
        ([1], ["one"], 'c" onload="x', "not a usable id"),
        ([-1], ["one"], "c", "no negative value"),
    ],
    ids=["labels-missing", "id-breaking-out", "negative"],
)
def test_what_cannot_be_drawn_is_refused(
    values: list[int], labels: list[str], chart_id: str, problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        bar_chart(values, labels, title="t", description="d", chart_id=chart_id)
