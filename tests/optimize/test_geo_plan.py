"""Per-geo budget plans: certified optima under national and geo rules, brute force on small
instances, the share rows, infeasibility by name, posterior draws and risk, the file form and
the command line."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from mediamix.cli import cli
from mediamix.errors import InfeasibleError, SpecError
from mediamix.optimize import Response
from mediamix.optimize.geo import (
    GeoProblem,
    cell_name,
    cvar_certificate,
    geo_problem,
    geo_problem_from_dict,
    solve_geo,
)

TOL = 1e-4


def hill(name, beta, k, s=1.0, price=1.0, ref=None):
    return Response(name, "hill", {"beta": beta, "k": k, "s": s}, price, reference_spend=ref)


def small(s: float = 1.0) -> dict[str, list[Response]]:
    """2 geos x 2 channels: geo A's curves are much better than geo B's."""
    return {
        "A": [hill("tv", 30.0, 30.0, s), hill("search", 20.0, 15.0, s)],
        "B": [hill("tv", 12.0, 40.0, s), hill("search", 10.0, 30.0, s)],
    }


SMALL_RULES = dict(
    channel_bounds={"tv": (None, 45.0)}, geo_share={"B": (0.35, None)}, bounds={"A/search": (0, 30)}
)


def grid_best(responses, budget, h, rules, risk=None):
    """Brute force: every point of the grid ``{0, h, 2h, ...}^4`` that keeps the budget and
    the rules of ``SMALL_RULES`` form, scored exactly (mean, or CVaR over the draws)."""
    cells = [(g, r) for g, rs in responses.items() for r in rs]
    v = np.arange(0.0, budget + 1e-9, h)
    vals = [r(v) for _, r in cells]  # (S, len(v)) per cell
    S = vals[0].shape[0]
    best, arg = -np.inf, None
    tv = rules["channel_bounds"]["tv"][1]
    share_b = rules["geo_share"]["B"][0]
    a_search_hi = rules["bounds"]["A/search"][1]
    x0, x1, x2, x3 = np.meshgrid(v, v, v, v, indexing="ij", sparse=True)
    for i, a0 in enumerate(v):  # one slice of A/tv at a time
        tot = a0 + x1[0] + x2[0] + x3[0]
        ok = tot <= budget + 1e-9
        ok &= a0 + x2[0] <= tv + 1e-9
        ok &= x1[0] <= a_search_hi + 1e-9
        ok &= x2[0] + x3[0] >= share_b * tot - 1e-9
        if not ok.any():
            continue
        k = vals[0][:, i, None, None, None] + vals[1][:, :, None, None]
        k = k + vals[2][:, None, :, None] + vals[3][:, None, None, :]  # (S, n, n, n)
        if risk is None:
            score = k.mean(axis=0)
        else:  # CVaR: the mean of the worst alpha share of draws (alpha * S whole draws)
            m = int(round(risk * S))
            score = np.sort(k, axis=0)[:m].mean(axis=0)
        score = np.where(ok, score, -np.inf)
        j = np.unravel_index(np.argmax(score), score.shape)
        if score[j] > best:
            best, arg = float(score[j]), np.array([a0, v[j[0]], v[j[1]], v[j[2]]])
    return best, arg


def test_problem_rows_are_named_and_right():
    p = geo_problem(small(), 100.0, geo_caps={"A": 70.0}, **SMALL_RULES)
    assert isinstance(p, GeoProblem)
    assert p.names == ["A/tv", "A/search", "B/tv", "B/search"]
    rows = {r.name: r for r in p.linear_rows()}
    assert set(rows) == {
        "total budget (100)",
        "national 'tv' total max (45)",
        "geo 'A' total max (70)",
        "geo 'B' share min (0.35 of total spend)",
    }
    np.testing.assert_allclose(rows["national 'tv' total max (45)"].coef, [1, 0, 1, 0])
    share = rows["geo 'B' share min (0.35 of total spend)"]
    # the row holds exactly when B's spend is at least 35% of the total spend
    for x in ([10, 10, 4, 3], [10, 10, 6, 5], [0, 0, 0, 0], [1, 2, 30, 0]):
        x = np.array(x, float)
        assert (share.coef @ x <= share.rhs + 1e-12) == (x[2:].sum() >= 0.35 * x.sum() - 1e-12)
    assert p.channels[3].upper is None and p.channels[1].upper == 30.0


def test_brute_force_matches_concave():
    resp = small()
    gp = solve_geo(resp, 100.0, **SMALL_RULES)
    assert gp.certified and gp.gap <= TOL and gp.plan.method == "convex"
    binding = {r["name"] for r in gp.rules if r["binding"]}
    assert {"national 'tv' total max (45)", "geo 'B' share min (0.35 of total spend)"} <= binding
    h = 1.0
    best, arg = grid_best(resp, 100.0, h, SMALL_RULES)
    f = gp.plan.objective_value
    x = np.array([gp.spend.loc[g, c] for g, c in [("A", "tv"), ("A", "search"),
                                                  ("B", "tv"), ("B", "search")]])  # fmt: skip
    # no grid point beats the certified optimum; the grid reaches it within its resolution
    assert best <= f * (1 + gp.gap + 1e-8)
    slope = sum(float(r.marginal(np.array([max(xi - h, 0.0)]))[0, 0])
                for r, xi in zip([*resp["A"], *resp["B"]], x, strict=True))  # fmt: skip
    assert f - best <= slope * h
    assert np.abs(arg - x).max() <= 3 * h


def test_brute_force_matches_s_shaped_global():
    resp = small(s=2.0)
    gp = solve_geo(resp, 100.0, **SMALL_RULES)
    assert gp.plan.method == "global" and gp.certified
    best, arg = grid_best(resp, 100.0, 1.0, SMALL_RULES)
    f = gp.plan.objective_value
    assert best <= f * (1 + gp.gap + 1e-8)
    assert f - best <= 0.01 * f  # the S-shaped grid optimum within its 1-unit resolution
    assert gp.geo_shares["B"] >= 0.35 - 1e-7 and gp.channel_totals["tv"] <= 45 + 1e-7


def _rules_kept(gp, problem):
    tol = 1e-6 * max(problem.budget or 1.0, 1.0)
    for r in gp.rules:
        lim, val = r["limit"], r["value"]
        if r["rule"].endswith("max") or r["rule"] == "budget":
            assert val <= lim + tol, r
        else:
            assert val >= lim - tol, r
    for c, (g, ch) in zip(problem.channels, problem.cells, strict=True):
        x = gp.spend.loc[g, ch]
        assert x >= c.lower - tol and (c.upper is None or x <= c.upper + tol)


def _geo_instance(family: str, G: int = 6, C: int = 3, seed: int = 3, draws: int = 0):
    rng = np.random.default_rng(seed)
    resp = {}
    for g in range(G):
        rs = []
        for c in range(C):
            ref = float(rng.uniform(50, 150))
            size = (draws,) if draws else None
            noise = rng.lognormal(0, 0.25, size) if draws else 1.0
            if family == "hill" or (family == "mixed" and c == 0):
                r = hill(f"ch{c}", rng.uniform(20, 60) * noise, rng.uniform(50, 300), ref=ref)
            elif family == "log" or (family == "mixed" and c == 1):
                r = Response(f"ch{c}", "log1p", {"a": rng.uniform(3, 10) * noise,
                             "scale": rng.uniform(20, 100)}, reference_spend=ref)  # fmt: skip
            else:
                r = Response(f"ch{c}", "power", {"a": rng.uniform(0.5, 2) * noise,
                             "alpha": rng.uniform(0.3, 0.7)}, reference_spend=ref)  # fmt: skip
            rs.append(r)
        resp[f"Geo{g + 1}"] = rs
    return resp


RULES = dict(
    channel_bounds={"ch0": (None, 400.0), "ch2": (300.0, None)},
    geo_caps={"Geo3": 150.0, "Geo4": (250.0, None)},
    geo_share={"Geo1": (0.25, 0.4), "Geo2": (None, 0.1)},
    bounds={("Geo5", "ch1"): (20.0, 60.0), "Geo6/ch0": (0.0, 10.0)},
)


@pytest.mark.parametrize("family", ["hill", "mixed"])
def test_certified_with_national_and_geo_rules(family):
    resp = _geo_instance(family)
    p = geo_problem(resp, **RULES)  # budget: today's total (the curves' reference spend)
    today = sum(r.reference_spend for rs in resp.values() for r in rs)
    assert p.budget == pytest.approx(today)
    gp = solve_geo(p)
    assert gp.gap is not None and gp.gap <= TOL and gp.certified
    _rules_kept(gp, p)
    assert gp.spend.shape == (6, 3)
    assert sum(gp.geo_totals.values()) == pytest.approx(gp.plan.spend_total, rel=1e-9)
    assert sum(gp.geo_shares.values()) == pytest.approx(1.0)
    assert gp.channel_totals["ch0"] == pytest.approx(gp.spend["ch0"].sum())
    for (g, ch), name in zip(p.cells, p.names, strict=True):
        assert gp.spend.loc[g, ch] == pytest.approx(gp.plan.allocation[name])
    d = json.loads(gp.to_json())
    assert d["kind"] == "geo_plan" and d["certified"] is True
    assert d["geos"] == list(resp) and d["channels"] == ["ch0", "ch1", "ch2"]
    assert len(d["table"]["spend"]) == 6 and len(d["cells"]) == 18
    assert {r["rule"] for r in d["rules"]} == {
        "budget",
        "channel_max",
        "channel_min",
        "geo_max",
        "geo_min",
        "share_min",
        "share_max",
    }
    assert d["by_geo"]["Geo3"]["spend"] <= 150 + 1e-6


def test_share_of_spend_when_the_budget_is_not_spent():
    resp = small()
    # at most 20 + 10 + 10 can be spent: the budget of 100 is an upper bound, not met
    kw = dict(geo_caps={"A": 20.0}, bounds={"B/tv": (0, 10), "B/search": (0, 10)})
    gp = solve_geo(resp, 100.0, geo_share={"B": (0.6, None)}, **kw)
    assert gp.certified
    assert gp.plan.spend_total < 40
    assert gp.geo_shares["B"] == pytest.approx(0.6, abs=1e-7)  # of the spend, kept exactly
    assert gp.geo_totals["B"] == pytest.approx(20.0)
    assert gp.geo_totals["A"] == pytest.approx(20.0 / 0.6 * 0.4)
    with pytest.raises(InfeasibleError, match=r"geo 'B' share min \(0.6 of budget\)"):
        solve_geo(resp, 100.0, geo_share={"B": (0.6, None)}, share_of="budget", **kw)
    # profit without any budget: the share rows still hold
    gp = solve_geo(resp, geo_share={"B": (0.5, 0.5)}, objective="profit", kpi_value=10.0)
    assert gp.certified and gp.geo_shares["B"] == pytest.approx(0.5, abs=1e-7)


def test_infeasible_combinations_name_the_rules():
    resp = small()
    with pytest.raises(InfeasibleError) as e:
        solve_geo(resp, 100.0, channel_bounds={"tv": (80, None)}, geo_caps={"A": 30, "B": 30})
    msg = str(e.value)
    for name in (
        "national 'tv' total min (80)",
        "geo 'A' total max (30)",
        "geo 'B' total max (30)",
    ):
        assert name in msg
    with pytest.raises(
        InfeasibleError,
        match=r"minimum shares add up to 1.1, more than the whole \(1\): 'A' 0.6, 'B' 0.5",
    ):
        geo_problem(resp, 100.0, geo_share={"A": (0.6, None), "B": (0.5, None)})
    with pytest.raises(InfeasibleError, match=r"add up to 0.7, less than the whole spend"):
        geo_problem(resp, 100.0, geo_share={"A": (None, 0.3), "B": (0.1, 0.4)})
    # a share that only a zero plan keeps is named, not answered with an empty plan
    with pytest.raises(InfeasibleError) as e:
        solve_geo(resp, 100.0, geo_share={"A": (0.5, None)}, geo_caps={"A": 0})
    assert "geo 'A' total max (0)" in str(e.value)
    assert "geo 'A' share min (0.5 of total spend)" in str(e.value)


def test_input_errors_name_the_key_and_the_fix():
    resp = small()
    with pytest.raises(SpecError, match=r"geo_caps: unknown geo 'Geo3'; geos: A, B"):
        geo_problem(resp, 100.0, geo_caps={"Geo3": 1})
    with pytest.raises(SpecError, match=r"unknown geo/channel 'A/tvv'.*Did you mean 'A/tv'"):
        geo_problem(resp, 100.0, bounds={"A/tvv": (0, 1)})
    with pytest.raises(SpecError, match=r"channel_bounds: unknown channel 'radio'"):
        geo_problem(resp, 100.0, channel_bounds={"radio": 5})
    with pytest.raises(SpecError, match=r"geo_share.A.max is a share.*between 0 and 1 \(got 30\)"):
        geo_problem(resp, 100.0, geo_share={"A": (0.1, 30)})
    with pytest.raises(SpecError, match=r"bounds.B/tv: max 2 is below min 3"):
        geo_problem(resp, 100.0, bounds={("B", "tv"): (3, 2)})
    with pytest.raises(SpecError, match=r"unknown option\(s\) \['budgett'\]"):
        geo_problem(resp, budgett=3)
    drawn = {"A": [hill("tv", np.ones(4) * 3, 2.0)], "B": [hill("tv", np.ones(5) * 3, 2.0)]}
    with pytest.raises(SpecError, match=r"different numbers of posterior draws 4 in A; 5 in B"):
        geo_problem(drawn, 10.0)
    clash = {"A/x": [hill("y", 1.0, 1.0)], "A": [hill("x/y", 1.0, 1.0)]}
    with pytest.raises(SpecError, match=r"same cell name\(s\) \['A/x/y'\]"):
        geo_problem(clash, 10.0)


def test_draws_mean_and_cvar_are_certified():
    resp = _geo_instance("hill", G=4, C=2, seed=5, draws=48)
    rules = dict(geo_share={"Geo1": (0.3, None)}, channel_bounds={"ch0": (None, 250.0)})
    mean = solve_geo(resp, 600.0, **rules)
    cvar = solve_geo(resp, 600.0, risk="cvar", alpha=0.25, **rules)
    for gp in (mean, cvar):
        assert gp.certified and gp.gap <= TOL
        assert gp.geo_shares["Geo1"] >= 0.3 - 1e-7 and gp.channel_totals["ch0"] <= 250 + 1e-6
    # the CVaR plan's objective is the mean of its worst 25% of draws (12), recomputed here
    k = sum(r(np.array([cvar.spend.loc[g, r.name]]))[:, 0] for g, rs in resp.items() for r in rs)
    worst = np.sort(k)[:12]
    assert cvar.plan.objective_value == pytest.approx(worst.mean(), rel=1e-9)
    assert cvar.plan.objective_value < mean.plan.kpi
    # the CVaR plan scores at least the mean plan's CVaR, and vice versa for the mean
    km = sum(r(np.array([mean.spend.loc[g, r.name]]))[:, 0] for g, rs in resp.items() for r in rs)
    assert cvar.plan.objective_value >= np.sort(km)[: len(worst)].mean() - 1e-7
    assert mean.plan.kpi >= k.mean() - 1e-7


def test_cvar_certificate_is_valid_on_a_grid():
    rng = np.random.default_rng(11)
    S = 20
    resp = {
        g: [hill(c, b * rng.lognormal(0, 0.3, S), k) for c, b, k in chans]
        for g, chans in {"A": [("tv", 30, 30), ("search", 20, 15)],
                         "B": [("tv", 12, 40), ("search", 10, 30)]}.items()
    }  # fmt: skip
    gp = solve_geo(resp, 100.0, risk="cvar", alpha=0.25, **SMALL_RULES)
    assert gp.certified and gp.gap <= TOL
    p = geo_problem(resp, 100.0, risk="cvar", alpha=0.25, **SMALL_RULES)
    x = np.array([gp.plan.allocation[n] for n in p.names])
    assert cvar_certificate(p, x) == pytest.approx(gp.gap)
    assert cvar_certificate(p, 0.5 * x) > 0.05  # half the optimum is far from optimal
    best, _ = grid_best(resp, 100.0, 2.5, SMALL_RULES, risk=0.25)
    f = gp.plan.objective_value
    assert best <= f * (1 + gp.gap + 1e-8) and f - best <= 0.02 * f


def _records(resp):
    return {g: [r.to_dict() for r in rs] for g, rs in resp.items()}


def test_file_form_and_command_line(tmp_path):
    resp = _geo_instance("hill", G=3, C=2, seed=2)
    spec = {
        "budget": 500,
        "objective": "kpi",
        "gap": 1e-5,
        "geo": {
            "responses": _records(resp),
            "channels": {"ch0": {"max": 200}},
            "caps": {"Geo3": 100},
            "share": {"Geo1": [0.3, None]},
        },
    }
    p = geo_problem_from_dict(spec)
    direct = solve_geo(resp, 500.0, channel_bounds={"ch0": (None, 200)}, geo_caps={"Geo3": 100},
                       geo_share={"Geo1": (0.3, None)}, gap_tol=1e-5)  # fmt: skip
    from_file = solve_geo(p)
    np.testing.assert_allclose(from_file.spend.to_numpy(), direct.spend.to_numpy(), rtol=1e-6)

    import yaml

    path = tmp_path / "geo_plan.yaml"
    path.write_text(yaml.safe_dump({**spec, "geo": {"responses": _records(resp)}}))
    runner = CliRunner()
    res = runner.invoke(cli, ["plan-geo", str(path), "--channel-max", "ch0=200", "--geo-cap",
                              "Geo3=100", "--geo-share", "Geo1=0.3:", "--format", "json"])  # fmt: skip
    assert res.exit_code == 0, res.output
    got = json.loads(res.output)
    np.testing.assert_allclose(got["table"]["spend"], direct.spend.to_numpy(), rtol=1e-6)
    assert got["certified"] and got["gap"] <= 1e-5

    run = tmp_path / "run"
    run.mkdir()
    (run / "responses.json").write_text(
        json.dumps({"responses": [], "geo_responses": _records(resp)})
    )
    res = runner.invoke(cli, ["plan-geo", "--run", str(run), "--budget", "500", "--geo-share",
                              "Geo1=0.3:0.5", "--geo-cap", "Geo3=100"])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "certified gap" in res.output and "national" in res.output
    assert "geo 'Geo3' total max (100)" in res.output  # binding: Geo3's curves are the best

    (run / "responses.json").write_text(json.dumps(_records(resp)["Geo1"]))  # a national run
    res = runner.invoke(cli, ["plan-geo", "--run", str(run), "--budget", "500"])
    assert res.exit_code == 2
    assert "no 'geo_responses'" in res.output and "--geo COLUMN" in res.output
    res = runner.invoke(cli, ["plan-geo", "--run", str(tmp_path), "--geo-cap", "Geo3"])
    assert res.exit_code == 2 and "--geo-cap must look like NAME=VALUE" in res.output


def test_cell_names():
    assert cell_name("Geo 1", "tv") == "Geo 1/tv"


def test_current_spend_and_a_geo_without_a_channel():
    resp = {
        "A": [hill("tv", 30.0, 30.0), hill("search", 20.0, 15.0)],
        "B": [hill("search", 10.0, 30.0)],  # B has no tv
    }
    current = {"A": {"tv": 40.0, "search": 10.0}, "B": {"search": 30.0}}
    gp = solve_geo(resp, current=current, geo_share={"B": (0.2, None)})
    assert gp.budget == pytest.approx(80.0)  # today's total
    assert np.isnan(gp.spend.loc["B", "tv"]) and gp.current.loc["A", "tv"] == 40.0
    d = gp.to_dict()
    assert d["table"]["spend"][1][0] is None and d["table"]["current"][1][1] == 30.0
    assert [c["name"] for c in d["cells"]] == ["A/tv", "A/search", "B/search"]
    assert d["by_geo"]["B"]["current_share"] == pytest.approx(30.0 / 80.0)
    # today's plan keeps every rule here, so the certified plan scores at least as well
    assert d["gain"]["mean"] >= -1e-9 and d["reference"]["kpi"] <= d["kpi"] + 1e-9
    long = gp.spend_long()
    assert len(long) == 3 and set(long.columns) >= {"geo", "channel", "spend", "current", "kpi"}
    with pytest.raises(SpecError, match=r"current.B: unknown geo/channel 'B/tv'"):
        geo_problem(resp, 80.0, current={"B": {"tv": 1.0}})
