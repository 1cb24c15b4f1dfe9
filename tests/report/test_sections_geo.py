"""The report's Geo breakdown: per-geo ROAS grid and figure with intervals, the pooling table,
organic and non-media contributions, the optimal frequency, the verdict of a fit that is not
done, and national reports left as they were."""

from __future__ import annotations

import math

import pytest

from mediamix.report.html import Section, render, review_banner, sections
from mediamix.report.run import RunData
from mediamix.report.sections_geo import (
    POOLING_HEADER,
    geo_section,
    grid_rows,
    national_view,
    pooling_rows,
    roas_figure,
    totals_rows,
)


def iv(mean, lower, upper):
    return {"mean": mean, "lower": lower, "upper": upper}


def geo_summary(**extra):
    """A summary.json of the geo model's shape: two geos, a paid and an rf channel, an
    organic channel and a promotion."""
    s = {
        "method": "nuts",
        "model": {"kind": "geo", "geos": ["north", "south"], "geo_pooling": "partial"},
        "channels": {
            "tv": {"roas": iv(2.0, 1.5, 2.5), "contribution": iv(200.0, 150.0, 250.0)},
            "yt": {"roas": iv(1.2, 0.8, 1.6), "contribution": iv(60.0, 40.0, 80.0)},
        },
        "geos": {
            "south": {
                "channels": {"tv": {"roas": iv(3.0, 2.0, 4.0)}, "yt": {"roas": iv(1.0, 0.5, 1.5)}},
                "organic": {"email": {"contribution": iv(5.0, 2.0, 8.0)}},
            },
            "north": {
                "channels": {"tv": {"roas": iv(1.0, 0.5, 1.5)}, "yt": {"roas": iv(1.4, 0.9, 1.9)}},
                "organic": {"email": {"contribution": iv(7.0, 3.0, 11.0)}},
            },
        },
        "organic": {"email": {"contribution": iv(12.0, 6.0, 18.0)}},
        "non_media": {"promo": {"contribution": iv(30.0, 10.0, 50.0)}},
        "optimal_frequency": {"yt": iv(3.2, 2.5, 4.1)},
        "diagnostics": {"max_rhat": 1.004, "divergences": 0, "converged": True},
    }
    s.update(extra)
    return s


def run_of(summary, tmp_path):
    return RunData(run_dir=tmp_path, summary=summary, level=0.9)


def test_the_grid_holds_national_then_each_geo_in_the_models_order(tmp_path) -> None:
    s = geo_section(run_of(geo_summary(), tmp_path), Section, review_banner)
    (roas,) = [t for t in s.tables if "ROAS per geo" in t["caption"]]
    assert roas["header"] == ["geo", "tv", "yt"]
    assert roas["rows"] == [
        ["national", "2 [1.5, 2.5]", "1.2 [0.8, 1.6]"],
        ["north", "1 [0.5, 1.5]", "1.4 [0.9, 1.9]"],
        ["south", "3 [2, 4]", "1 [0.5, 1.5]"],
    ]
    assert "90% interval" in roas["caption"] and "provisional" not in roas["caption"]
    # contributions: national only in this summary, so the geo cells are empty
    assert grid_rows(geo_summary(), "contribution")[0] == ["national", "200 [150, 250]",
                                                           "60 [40, 80]"]  # fmt: skip


def test_the_figure_draws_each_channels_interval_as_its_error_bar() -> None:
    fig = roas_figure(geo_summary(), 0.9)
    tv, yt = fig.data
    assert list(tv.x) == ["national", "north", "south"]
    assert list(tv.y) == [2.0, 1.0, 3.0]
    assert list(tv.error_y.array) == pytest.approx([0.5, 0.5, 1.0])
    assert list(tv.error_y.arrayminus) == pytest.approx([0.5, 0.5, 1.0])
    assert yt.name == "yt" and list(yt.y) == [1.2, 1.4, 1.0]
    assert "90% intervals" in fig.layout.title.text


def test_the_pooling_table_measures_how_far_the_geos_differ() -> None:
    rows = {r[0]: r for r in pooling_rows(geo_summary(), 0.9)}
    # tv: geo means 1 and 3 -> sd 1 (half of the national 2); widths 1 and 2 -> 1.5
    assert rows["tv"] == ["tv", "2 [1.5, 2.5]", "1", "50%", "1.5", "0.6667", "1 / 2"]
    # yt: means 1.4 and 1.0 -> sd 0.2; widths 1 and 1; both intervals hold 1.2
    sd = math.sqrt(((1.4 - 1.2) ** 2 + (1.0 - 1.2) ** 2) / 2)
    assert rows["yt"][2] == f"{sd:.4g}" and rows["yt"][-1] == "2 / 2"
    assert len(POOLING_HEADER) == len(rows["tv"])


def test_each_geos_totals_and_its_share_of_what_media_brought() -> None:
    s = geo_summary(kpi={"total": 1000.0, "media": iv(260.0, 200.0, 320.0)})
    s["channels"]["tv"]["spend"], s["channels"]["yt"]["spend"] = 100.0, 50.0
    for g, (tv, yt, media, pop) in {"north": (40.0, 20.0, 65.0, 2e5),
                                    "south": (60.0, 30.0, 195.0, 8e5)}.items():  # fmt: skip
        s["geos"][g]["channels"]["tv"]["spend"] = tv
        s["geos"][g]["channels"]["yt"]["spend"] = yt
        s["geos"][g]["kpi"] = {"total": 500.0, "media": iv(media, media - 10, media + 10)}
        s["geos"][g]["population"] = pop
    head, rows = totals_rows(s)
    assert head[:3] == ["geo", "population", "spend (window)"]
    assert rows[0][:6] == ["national", "", "150", "1,000", "260 [200, 320]", "100%"]
    assert rows[1][:6] == ["north", "200,000", "60", "500", "65 [55, 75]", "25%"]
    assert rows[2][5] == "75%"


def test_organic_non_media_and_frequency_tables(tmp_path) -> None:
    s = geo_section(run_of(geo_summary(), tmp_path), Section, review_banner)
    by_head = {tuple(t["header"]): t for t in s.tables}
    roles = by_head[("geo", "email (organic)", "promo (non-media)")]
    assert roles["rows"] == [
        ["national", "12 [6, 18]", "30 [10, 50]"],
        ["north", "7 [3, 11]", ""],
        ["south", "5 [2, 8]", ""],
    ]
    assert "no ROAS" in roles["caption"]
    freq = by_head[("reach-and-frequency channel", "optimal frequency", "national ROAS")]
    assert freq["rows"] == [["yt", "3.2 [2.5, 4.1]", "1.2 [0.8, 1.6]"]]


@pytest.mark.parametrize(
    ("extra", "title"),
    [
        ({"diagnostics": {"max_rhat": 1.31, "divergences": 4}}, "NOT CONVERGED"),
        ({"diagnostics": {"converged": False}}, "NOT CONVERGED"),
        ({"diagnostics": {"loss_converged": False}}, "NOT CONVERGED"),
        ({"review": {"badge": "not converged", "counts": {"fail": 1}}}, "NOT CONVERGED"),
        (
            {"review": {"badge": "fail", "converged": False, "counts": {"fail": 2}}},
            "REVIEW FAILED, NOT CONVERGED",
        ),  # fmt: skip
    ],
)
def test_a_fit_that_is_not_done_reads_as_not_done(tmp_path, extra, title) -> None:
    s = geo_section(run_of(geo_summary(**extra), tmp_path), Section, review_banner)
    assert s.text[0].startswith(f"{title}: ")
    assert all(t["caption"].startswith(f"{title}, provisional: ") for t in s.tables)
    if "diagnostics" in extra and extra["diagnostics"].get("max_rhat"):
        assert "max R-hat 1.310 (above 1.01), 4 divergent transition(s)" in s.text[0]


def test_a_passed_review_reads_as_the_report_banner_says(tmp_path) -> None:
    review = {"badge": "pass", "counts": {"pass": 5}}
    s = geo_section(run_of(geo_summary(review=review), tmp_path), Section, review_banner)
    banner = review_banner(review)
    assert s.text[0] == f"{banner['title']}: {banner['text']}"
    assert not any("provisional" in t["caption"] for t in s.tables)


def test_the_report_shows_the_section_after_roas_and_national_reports_do_not(tmp_path) -> None:
    geo = run_of(geo_summary(), tmp_path)
    keys = [s.key for s in sections(geo)]
    assert keys[keys.index("roas") + 1] == "geo"
    html = render(geo)
    assert '<section id="geo">' in html and "Geo breakdown" in html
    assert html.count('id="figure-geo_roas"') == 1
    national = geo_summary()
    for k in ("geos", "model", "organic", "non_media", "optimal_frequency"):
        national.pop(k)
    nat = run_of(national, tmp_path)
    assert "geo" not in [s.key for s in sections(nat)]
    assert '<section id="geo">' not in render(nat)


def test_without_a_review_the_diagnostics_are_named_and_nothing_reads_as_passed(tmp_path) -> None:
    s = geo_section(run_of(geo_summary(), tmp_path), Section, review_banner)
    assert s.text[0].startswith("NOT REVIEWED: this geo fit holds no model review; its "
                                "diagnostics (max R-hat 1.004, 0 divergences) show no failure")  # fmt: skip


def test_a_geo_runs_tables_reach_the_national_sections_as_their_national_part(tmp_path) -> None:
    import pandas as pd

    contrib = pd.DataFrame({"geo": ["national", "north"], "channel": ["tv", "tv"],
                            "role": ["paid", "paid"], "mean": [1.0, 0.5]})  # fmt: skip
    curves = pd.DataFrame({"geo": ["national", "national", "north"], "channel": ["tv"] * 3,
                           "spend": [0.0, 10.0, 10.0], "mean": [0.0, 4.0, 2.0],
                           "lower": [0.0, 3.0, 1.0], "upper": [0.0, 5.0, 3.0]})  # fmt: skip
    run = RunData(run_dir=tmp_path, summary=geo_summary(), contributions=contrib,
                  response_curves=curves)  # fmt: skip
    view = national_view(run)
    assert view.contributions is None
    assert view.response_curves.to_dict("list") == {
        "channel": ["tv", "tv"], "spend": [0.0, 10.0], "mean": [0.0, 4.0],
        "lower": [0.0, 3.0], "upper": [0.0, 5.0],
    }  # fmt: skip
    keys = [x.key for x in sections(run)]
    assert "decomposition" not in keys and {"curves", "geo"} <= set(keys)
    national = RunData(run_dir=tmp_path, summary={"channels": {}}, contributions=contrib)
    assert national_view(national) is national  # a national run is left as it is


def test_small_shares_keep_a_decimal() -> None:
    from mediamix.report.sections_geo import share_text

    assert [share_text(x) for x in (1.0, 0.25, 0.1, 0.0039, 0.0)] == [
        "100%", "25%", "10%", "0.4%", "0.0%"]  # fmt: skip
