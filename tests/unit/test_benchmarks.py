"""Team benchmarks: percentiles, placement at the edges, team files, snapshots, team build."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from decimal import Decimal

import pytest
import tomli_w

from tokentui.core import benchmarks as bm

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)
D = Decimal


def dist(*ps, n: int = 5) -> bm.Distribution:
    return bm.Distribution(n, *(D(str(p)) for p in ps))


# --- percentiles ------------------------------------------------------------------------

def test_type7_percentiles_of_five_values():
    xs = [D(v) for v in (1, 2, 3, 4, 5)]
    assert [bm.percentile(xs, p) for p in bm.PERCENTILES] == [D("1.4"), 2, 3, 4, D("4.6")]
    assert bm.percentile([D(7)], 90) == 7


def test_distribution_rounds_to_two_significant_figures():
    d = bm.distribution([D(v) for v in (1_234_567, 2_345_678, 3_456_789, 4_567_890, 5_678_901)])
    assert d.n == 5
    assert (d.p25, d.p50, d.p75) == (D(2_300_000), D(3_500_000), D(4_600_000))
    assert bm.round_sig(D("0.9347")) == D("0.93") and bm.round_sig(D(0)) == 0
    assert bm.round_sig(D("1250")) == D("1200")  # half-even
    exact = bm.distribution([D(v) for v in (1, 2, 3, 4, 5)], sig=None)
    assert exact.p10 == D("1.4")


# --- placement --------------------------------------------------------------------------

def test_exactly_at_p50_is_the_50th_percentile_and_one_median():
    p = bm.place(300, dist(100, 200, 300, 400, 500))
    assert (p.percentile, p.position, p.multiple_of_median, p.text, p.n) == (50, "within", 1.0, "p50", 5)


def test_below_p10_is_not_extrapolated():
    p = bm.place(99, dist(100, 200, 300, 400, 500))
    assert p.position == "below" and p.percentile is None and p.text == "below p10"
    assert p.multiple_of_median == pytest.approx(0.33)
    assert bm.place(0, dist(100, 200, 300, 400, 500)).text == "below p10"


def test_above_p90_is_not_extrapolated():
    p = bm.place(5_000, dist(100, 200, 300, 400, 500))
    assert p.position == "above" and p.percentile is None and p.text == "above p90"
    assert p.multiple_of_median == pytest.approx(16.67, rel=1e-3) and p.median_text == "17× median"


def test_edges_and_interpolation():
    d = dist(100, 200, 300, 400, 500)
    assert bm.place(100, d).percentile == 10 and bm.place(500, d).percentile == 90
    assert bm.place(250, d).percentile == pytest.approx(37.5)
    assert bm.place(150, d).percentile == pytest.approx(17.5)
    assert bm.place(D("450"), d).percentile == pytest.approx(82.5)


def test_equal_percentiles_give_their_midpoint_and_a_zero_median_has_no_multiple():
    assert bm.place(5, dist(1, 5, 5, 5, 9)).percentile == 50
    assert bm.place(5, dist(5, 5, 5, 7, 9)).percentile == 30  # equal to p10, p25 and p50: (10 + 50) / 2
    p = bm.place(0, dist(0, 0, 0, 0, 0))
    assert p.percentile == 50 and p.multiple_of_median is None and p.median_text == "median is 0"


# --- team files -------------------------------------------------------------------------

def team_of(values_per_member, **kw):
    rows = [{"tokens_per_week": D(v), "cost_per_week": D(v) / 1000} for v in values_per_member]
    return bm.team_from_values(rows, name="Platform", window_days=28, source="snapshots", now=NOW, **kw)


def test_team_file_round_trip_holds_aggregates_only():
    team, notes = team_of([1e8, 2e8, 4e8, 8e8, 1.6e9])
    text = team.to_toml()
    back = bm.parse_team(text, "team.toml")
    assert back == team
    assert back.metrics["tokens_per_week"] == bm.Distribution(5, D(140000000), D(200000000), D(400000000),
                                                              D(800000000), D(1300000000))
    assert back.generated == "2026-11-20T09:00:00Z" and back.members == 5
    assert set(back.metrics) == {"tokens_per_week", "cost_per_week"}
    assert notes == []  # the other metrics have no values at all, so nothing to explain


def test_team_refuses_fewer_members_and_a_too_low_minimum():
    with pytest.raises(bm.BenchmarkError, match="only 4 member"):
        team_of([1, 2, 3, 4])
    with pytest.raises(bm.BenchmarkError, match="at least 3"):
        team_of([1, 2], min_members=2)
    team, _ = team_of([1, 2, 3, 4], min_members=4)
    assert team.members == 4


def test_metric_with_too_few_values_is_left_out():
    rows = [{"tokens_per_week": D(v)} for v in (1, 2, 3, 4, 5)]
    rows[0]["active_hours_per_week"] = D(10)
    team, notes = bm.team_from_values(rows, name="t", window_days=28, source="snapshots", now=NOW)
    assert set(team.metrics) == {"tokens_per_week"}
    assert any("active_hours_per_week left out: only 1" in n for n in notes)


@pytest.mark.parametrize("edit, problem", [
    (lambda t: t.replace('format = "tokentop-team/1"', 'format = "x"'), "format"),
    (lambda t: t.replace("window_days = 28", "window_days = 0"), "window_days"),
    (lambda t: re.sub(r"p50 = \d+", "p50 = 1", t, count=1), "must not decrease"),
    (lambda t: t.replace("n = 5", 'n = "five"', 1), "n: expected"),
    (lambda t: t + "\n[[oops", "not a valid TOML"),
])
def test_invalid_team_files_name_the_key(edit, problem):
    team, _ = team_of([1e8, 2e8, 4e8, 8e8, 1.6e9])
    with pytest.raises(bm.BenchmarkError, match=problem) as exc:
        bm.parse_team(edit(team.to_toml()), "/tmp/team.toml")
    assert "/tmp/team.toml" in str(exc.value)


# --- snapshots --------------------------------------------------------------------------

def snapshot(i: int, window: int = 28, tpw: float | None = None) -> dict:
    data = {"kind": "tokentop-snapshot", "label": f"member-{i}", "window_days": window,
            "leverage": {"window_days": window, "tokens_per_week": tpw if tpw is not None else 1e8 * (i + 1),
                         "fresh_tokens_per_week": 2e7 * (i + 1), "cost_per_week": f"{100 + 10 * i}.50",
                         "active_hours_per_week": 10.5 + i, "tokens_per_active_hour": None,
                         "cache_hit_ratio": 0.9 - i / 100, "output_share": 0.03,
                         "model_mix": [{"model": "m", "tokens": 5, "share": 1.0}]}}
    return {"format": "tokentop-snapshot", "schema_version": 1, "digest": bm.digest_of(data), "data": data}


def write_snapshots(tmp_path, docs, toml_every: int = 0) -> list[str]:
    out = []
    for i, doc in enumerate(docs):
        if toml_every and i % toml_every == 0:
            doc = json.loads(json.dumps(doc))
            doc["data"]["leverage"] = {k: v for k, v in doc["data"]["leverage"].items() if v is not None}
            doc["digest"] = bm.digest_of(doc["data"])
            p = tmp_path / f"snap-{i}.toml"
            p.write_text(tomli_w.dumps(doc))
        else:
            p = tmp_path / f"snap-{i}.json"
            p.write_text(json.dumps(doc, indent=2))
        out.append(str(p))
    return out


def test_canonical_json_is_the_documented_form():
    data = {"b": 1, "a": "é", "c": [1.5, None]}
    assert bm.canonical_json(data) == '{"a":"é","b":1,"c":[1.5,null]}'.encode()


def test_read_snapshot_values_and_digest_prefix():
    doc = snapshot(0)
    doc["digest"] = "sha256:" + doc["digest"].upper()
    f = bm.parse_snapshot(json.dumps(doc), "a.json")
    assert f.window_days == 28 and f.values["cost_per_week"] == D("100.50")
    assert f.values["tokens_per_week"] == D("100000000.0") and "tokens_per_active_hour" not in f.values


def test_tampered_snapshot_is_rejected(tmp_path):
    [path] = write_snapshots(tmp_path, [snapshot(3)])
    text = open(path).read()
    tampered = text.replace("400000000.0", "900000000.0", 1)  # one digit
    assert tampered != text
    with pytest.raises(bm.BenchmarkError, match=r"snap-0.json: the digest does not match .*altered"):
        bm.parse_snapshot(tampered, "snap-0.json")
    # re-indenting is not tampering: the digest covers the data, not the layout
    assert bm.parse_snapshot(json.dumps(json.loads(text)), "x").window_days == 28


@pytest.mark.parametrize("doc, problem", [
    ({"data": {"leverage": {}}}, "no digest"),
    ({"digest": "ab"}, "no data object"),
    ({"digest": bm.digest_of({"x": 1}), "data": {"x": 1}}, "no leverage figures"),
    ({"digest": bm.digest_of({"leverage": {"window_days": "28"}}), "data": {"leverage": {"window_days": "28"}}},
     "window_days"),
    ({"digest": bm.digest_of({"leverage": {"window_days": 28, "cost_per_week": "-1"}}),
      "data": {"leverage": {"window_days": 28, "cost_per_week": "-1"}}}, "non-negative"),
])
def test_unusable_snapshots_say_why(doc, problem):
    with pytest.raises(bm.BenchmarkError, match=problem):
        bm.parse_snapshot(json.dumps(doc), "s.json")
    with pytest.raises(bm.BenchmarkError, match="not a readable JSON"):
        bm.parse_snapshot("{nope", "s.json")


def test_team_build_from_generated_snapshots(tmp_path):
    paths = write_snapshots(tmp_path, [snapshot(i) for i in range(6)], toml_every=3)
    figures = [bm.parse_snapshot(open(p).read(), p, toml=p.endswith(".toml")) for p in paths]
    team, notes = bm.team_from_snapshots(figures, name="Platform", now=NOW)
    assert team.members == 6 and team.window_days == 28 and not team.mixed_windows
    # 1e8 … 6e8: p50 = 3.5e8
    assert team.metrics["tokens_per_week"].p50 == D(350000000)
    assert team.metrics["cost_per_week"].p50 == D(130)  # 125.50 to 2 significant figures
    assert "tokens_per_active_hour" not in team.metrics
    text = team.to_toml()
    assert "member-" not in text and "snap-" not in text and figures[0].digest not in text


def test_team_build_refuses_four_members(tmp_path):
    paths = write_snapshots(tmp_path, [snapshot(i) for i in range(4)])
    figures = [bm.parse_snapshot(open(p).read(), p) for p in paths]
    with pytest.raises(bm.BenchmarkError, match="only 4 member.*at least 5"):
        bm.team_from_snapshots(figures, name="t")


def test_team_build_refuses_the_same_snapshot_twice(tmp_path):
    paths = write_snapshots(tmp_path, [snapshot(i) for i in range(4)] + [snapshot(0)])
    figures = [bm.parse_snapshot(open(p).read(), p) for p in paths]
    with pytest.raises(bm.BenchmarkError, match="snap-4.json and .*snap-0.json are the same snapshot"):
        bm.team_from_snapshots(figures, name="t")


def test_mixed_windows_are_refused_naming_which_unless_allowed(tmp_path):
    docs = [snapshot(i) for i in range(4)] + [snapshot(4, window=7), snapshot(5, window=7)]
    paths = write_snapshots(tmp_path, docs)
    figures = [bm.parse_snapshot(open(p).read(), p) for p in paths]
    with pytest.raises(bm.BenchmarkError) as exc:
        bm.team_from_snapshots(figures, name="t")
    msg = str(exc.value)
    assert "7 days: " in msg and "snap-4.json" in msg and "28 days: " in msg and "--allow-mixed-windows" in msg
    team, notes = bm.team_from_snapshots(figures, name="t", allow_mixed_windows=True)
    assert team.mixed_windows and team.window_days == 28 and "mixed windows allowed" in notes[0]


# --- CLI --------------------------------------------------------------------------------

def test_cli_team_build_use_and_leverage_placement(tmp_path, isolated, capsys):
    from tokentui.cli import main

    paths = write_snapshots(tmp_path, [snapshot(i) for i in range(5)], toml_every=2)
    out = tmp_path / "team.toml"
    assert main(["team", "build", *paths, "-o", str(out), "--name", "Platform"]) == 0
    assert "5 members" in capsys.readouterr().out
    assert bm.parse_team(out.read_text(), "t").name == "Platform"
    assert main(["team", "use", str(out)]) == 0
    assert main(["leverage", "--no-sync", "--json"]) == 0
    data = json.loads(capsys.readouterr().out.split("\n", 1)[1])
    assert data["team"]["members"] == 5
    assert data["metrics"]["tokens_per_week"]["team"]["position"] == "below"  # an empty store: 0 tokens


def test_cli_team_build_errors_are_one_line(tmp_path, capsys):
    from tokentui.cli import main

    paths = write_snapshots(tmp_path, [snapshot(i) for i in range(4)])
    assert main(["team", "build", *paths, "-o", str(tmp_path / "t.toml")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("tokentop: error: only 4 member(s)") and not (tmp_path / "t.toml").exists()
    paths = write_snapshots(tmp_path, [snapshot(i) for i in range(5)])
    text = open(paths[2]).read().replace("300000000.0", "300000001.0")
    open(paths[2], "w").write(text)
    assert main(["team", "build", *paths, "-o", str(tmp_path / "t.toml")]) == 1
    assert "snap-2.json: the digest does not match" in capsys.readouterr().err
    assert main(["team", "build", paths[0], "-o", paths[0]]) == 2


# --- reference points -------------------------------------------------------------------

def test_reference_points_have_sources_and_sit_on_a_log_axis():
    assert len(bm.REFERENCE_POINTS) == 7
    assert all(r.source and r.low <= r.high for r in bm.REFERENCE_POINTS)
    tpw = bm.references_for("tokens_per_week")
    assert [r.key for r in tpw][-1] == "openai-week-record" and tpw[-1].low == 210e9
    assert bm.references_for("spend_to_comp")[0].low == 0.5
    lo, hi = bm.log_axis([r.low for r in tpw] + [3e8])
    assert (lo, hi) == (1e4, 1e12)
    fr = [bm.log_fraction(r.low, lo, hi) for r in tpw]
    assert fr == sorted(fr) and 0 <= fr[0] and fr[-1] <= 1
    assert bm.log_fraction(1e8, 1e4, 1e12) == 0.5 and bm.log_fraction(0, lo, hi) == 0


def test_team_file_is_written_private(tmp_path) -> None:
    import stat

    from tokentui.cli.team import _write

    target = tmp_path / "sub" / "team.toml"
    target.parent.mkdir()  # a folder you name must exist (see test_hostile_export: missing folders)
    _write(target, "name = 'x'\n")
    assert target.read_text() == "name = 'x'\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
