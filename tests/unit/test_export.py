"""Snapshot export: content of every format, digest round trips, tamper detection, no secrets,
periods, optional sections, and the export/verify commands end to end."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import stat
import subprocess
import sys
import tomllib
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from tokentui import paths
from tokentui.cli import main
from tokentui.config import load_settings
from tokentui.core.records import BILLED, ESTIMATED, UNPRICED, UsageRecord, to_pico
from tokentui.export import FORMATS, render
from tokentui.export.model import canonical_json, digest, project_name
from tokentui.export.verify import verify_file, verify_text
from tokentui.services.snapshot import ExportOptions, build, write_snapshot
from tokentui.services.sync import open_store
from tokentui.store import ledger, queries
from tokentui.store.db import transaction

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
SECRET_PROJECT = "/home/alice/secret-proj"
FLAT_PROJECT = "-home-alice-my-app"
SESSION_PATH = "/home/alice/.claude/projects/-home-alice-secret-proj/5f1c2d3e.jsonl"
PROMPT = "PROMPT-SECRET please refactor the billing module"
STATUS_PATH = "/home/alice/.codex/sessions/2026/11/19/rollout-broken.jsonl"
KEYS = {"OPENAI_ADMIN_KEY": "sk-admin-OPENAIsecret0123456789abcdef",
        "ANTHROPIC_ADMIN_KEY": "sk-ant-admin01-ANTHROPICsecret0123456789",
        "OPENROUTER_API_KEY": "sk-or-v1-OPENROUTERsecret0123456789abcdef",
        "DEEPSEEK_API_KEY": "sk-DEEPSEEKsecret0123456789abcdef",
        "MOONSHOT_API_KEY": "sk-MOONSHOTsecret0123456789abcdef"}
KEYRING_KEY = "sk-admin-KEYRINGsecret9876543210fedcba"


def ms(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> int:
    return int(datetime(y, m, d, hh, mm, tzinfo=timezone.utc).timestamp() * 1000)


def rec(source: str, key: str, ts: int, model: str | None, inp: int, out: int, cw: int = 0, cr: int = 0,
        cost: str | None = None, label: str = ESTIMATED, project: str | None = None, session: str | None = None,
        kind: str = "local", width: int = 0, raw: str | None = None) -> UsageRecord:
    return UsageRecord(source, key, ts, model, inp, out, cw, 0, cr, 0, project, session,
                       None if cost is None else to_pico(cost), UNPRICED if cost is None else label, kind, width,
                       raw=raw)


def known_records(now: datetime = NOW) -> list[UsageRecord]:
    """Five records inside the last 28 days of ``now`` (no local/API overlap) and one before."""
    day = lambda n, hh=10: int((now - timedelta(days=n)).replace(hour=hh, minute=0).timestamp() * 1000)  # noqa: E731
    midnight = lambda n: int((now - timedelta(days=n)).replace(hour=0, minute=0).timestamp() * 1000)  # noqa: E731
    return [
        rec("claude-code", "m1|r1", day(2), "claude-sonnet-4-5", 1000, 2000, 300, 40000, "0.123456",
            project=SECRET_PROJECT, session=SESSION_PATH, raw=json.dumps({"prompt": PROMPT})),
        rec("claude-code", "m2|r2", day(1, 9), "claude-opus-4-5", 500, 700, 0, 10000, "0.5", project=FLAT_PROJECT,
            session="sess-1"),
        rec("codex", "c1", day(1, 15), "gpt-5-codex", 2000, 300, 0, 5000, "0.02", project="/Users/alice/work/tool"),
        rec("openai", "completions|b1", midnight(3), "gpt-4.1-mini", 10000, 1000, 0, 0, "1.5", BILLED, kind="api",
            width=86400),
        rec("claude-code", "m3|r3", day(3, 8), "mystery-model", 100, 50, project=SECRET_PROJECT),
        rec("claude-code", "old", day(60), "claude-sonnet-4-5", 99999, 99999, 0, 0, "9.99"),
    ]


def seed(records: list[UsageRecord] | None = None, now: datetime = NOW) -> None:
    conn = open_store()
    with transaction(conn):
        ledger.upsert(conn, records if records is not None else known_records(now), "laptop-alice")
        ledger.set_status(conn, "claude-code", "ok", None, {"records": 5, "duplicates": 3, "skipped_lines": 2})
        ledger.set_status(conn, "codex", "error", f"could not read {STATUS_PATH}", {"duplicates": 0})
    conn.close()


@pytest.fixture
def store(isolated: Path):
    cfg = paths.config_file()
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text('timezone = "UTC"\n', encoding="utf-8")
    seed()
    conn = open_store()
    yield conn
    conn.close()


def snapshot(conn, **kw):
    return build(conn, load_settings(), ExportOptions(now=NOW, **kw))


def in_period() -> list[UsageRecord]:
    return known_records()[:5]


# --- the data ------------------------------------------------------------------------------

def test_totals_and_breakdowns_equal_the_store(store):
    snap = snapshot(store)
    d = snap.data
    assert d["period"] == {"spec": "28d", "start": "2026-10-24", "end": "2026-11-20", "days": 28, "timezone": "UTC",
                           "to_date": True}
    since, until = queries.local_day_range(date(2026, 10, 24), date(2026, 11, 20), load_settings().tz())
    t = queries.totals(store, queries.Filter(since, until))
    tot = d["totals"]
    assert tot["total_tokens"] == t.total == sum(r.total for r in in_period())
    assert (tot["input_tokens"], tot["output_tokens"], tot["cache_write_tokens"], tot["cache_read_tokens"]) == \
        (t.input, t.output, t.cache_write, t.cache_read)
    assert Decimal(tot["cost_usd"]) == Decimal("2.143456") == Decimal(t.cost_pico) / 10**12
    assert Decimal(tot["billed_usd"]) == Decimal("1.5") and Decimal(tot["estimated_usd"]) == Decimal("0.643456")
    assert tot["unpriced_tokens"] == 150 and tot["records"] == 5 and tot["active_days"] == 3
    assert sum(r["total_tokens"] for r in d["daily"]) == t.total and len(d["daily"]) == 28
    assert sum(Decimal(r["cost_usd"]) for r in d["daily"]) == Decimal(tot["cost_usd"])
    assert {s["source"]: s["total_tokens"] for s in d["by_source"]} == {
        "claude-code": 43300 + 11200 + 150, "codex": 7300, "openai": 11000}
    models = {m["model"]: m for m in d["by_model"]}
    assert sum(m["total_tokens"] for m in d["by_model"]) == t.total
    assert models["mystery-model"]["unpriced_tokens"] == 150 and models["mystery-model"]["cost_usd"] == "0.000000"
    assert [m["model"] for m in d["by_model"]][0] == "gpt-4.1-mini"  # most expensive first
    # money is decimal strings, everything canonical; the digest is sha256 of the canonical JSON
    assert isinstance(tot["cost_usd"], str) and snap.digest == digest(d)
    assert canonical_json(d) == json.dumps(d, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def test_provenance_says_where_numbers_came_from(store):
    pv = snapshot(store).data["provenance"]
    by = {s["source"]: s for s in pv["sources"]}
    assert by["claude-code"]["duplicates_dropped"] == 3 and by["claude-code"]["skipped_lines"] == 2
    assert by["claude-code"]["records"] == 4 and by["claude-code"]["records_in_period"] == 3
    assert by["codex"]["status"] == "error" and by["openai"]["status"] == "not synced"
    assert by["claude-code"]["last_sync"].endswith("Z")
    assert pv["pricing_data_version"].startswith("genai-prices")
    assert pv["unpriced_share"] == str((Decimal(150) / sum(r.total for r in in_period())).quantize(Decimal("0.0001")))
    assert Decimal(pv["billed_usd"]) == Decimal("1.5") and pv["tokentop_version"]


def test_local_and_api_views_of_the_same_usage_count_once(store):
    day = ms(2026, 11, 10)
    with transaction(store):
        ledger.upsert(store, [rec("codex", "dup-local", day + 3_600_000, "gpt-5-codex", 100, 10, cost="0.01"),
                              rec("openai", "dup-api", day, "gpt-5-codex", 1000, 100, cost="0.1", label=BILLED,
                                  kind="api", width=86400)], "laptop")
    d = snapshot(store).data
    assert d["totals"]["total_tokens"] == sum(r.total for r in in_period()) + 1100  # the API view, not both
    assert d["provenance"]["overlap"] == [{"date": "2026-11-10", "provider": "openai", "counted": "api",
                                           "local_tokens": 110, "api_tokens": 1100}]
    assert {s["source"]: s["total_tokens"] for s in d["by_source"]}["codex"] == 7300 + 110  # as recorded


@pytest.mark.parametrize("spec, start, end, days", [
    ("7d", "2026-11-14", "2026-11-20", 7), ("month", "2026-11-01", "2026-11-20", 20),
    ("quarter", "2026-10-01", "2026-11-20", 51), ("year", "2026-01-01", "2026-11-20", 324),
    ("2026-11-18..2026-11-19", "2026-11-18", "2026-11-19", 2)])
def test_periods(store, spec, start, end, days):
    d = snapshot(store, period=spec).data
    assert (d["period"]["start"], d["period"]["end"], d["period"]["days"], d["window_days"]) == (start, end, days, days)
    assert len(d["daily"]) == days
    if spec == "2026-11-18..2026-11-19":
        assert d["totals"]["total_tokens"] == 43300 + 11200 + 7300 and d["period"]["to_date"] is False
    if spec == "year":
        assert d["totals"]["total_tokens"] == sum(r.total for r in known_records())
        md = render(snapshot(store, period=spec), "md")
        assert "## Weekly" in md and "## Daily" not in md and verify_text(md).ok  # chat-sized, data keeps days


@pytest.mark.parametrize("spec", ["2d", "2026-11-20..2026-11-01", "2026-13-01..2026-13-02", "last week"])
def test_bad_periods_are_one_line_usage_errors(store, capsys, spec):
    assert main(["export", "--no-sync", "--period", spec, "-o", "-"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tokentop: error:") and len(err.strip().splitlines()) <= 2


def test_projects_only_on_request_and_only_names(store):
    assert "projects" not in snapshot(store).data
    projects = {p["project"]: p for p in snapshot(store, include_projects=True).data["projects"]}
    assert set(projects) == {"secret-proj", "my-app", "tool"}
    assert projects["secret-proj"]["total_tokens"] == 43300 + 150
    assert project_name("C:\\Users\\al\\repo\\") == "repo" and project_name("gemini-slug") == "gemini-slug"


def test_budgets_and_leverage_sections(store):
    cfg = paths.config_file()
    cfg.write_text('timezone = "UTC"\n[budgets.work]\nusd = 100\nperiod = "month"\n', encoding="utf-8")
    d = snapshot(store).data
    b = d["budgets"][0]
    assert b["name"] == "work" and b["unit"] == "usd" and b["amount"] == "100.00" and b["period"] == "month"
    assert Decimal(b["spent"]) == Decimal("2.14") and b["burnup"] and b["method"] and b["headline"]
    assert any("low" in p and "high" in p for p in b["burnup"])
    lev = d.get("leverage")
    if lev is None:  # the leverage feature is optional: then the notes say so
        assert any("Leverage" in n for n in d["notes"])
        return
    assert lev["window_days"] == 28 and "tokens_per_week" in lev and "spend_to_comp" not in lev


def test_without_budgets_the_notes_say_so(store):
    d = snapshot(store).data
    assert d["budgets"] == [] and any("No budgets" in n for n in d["notes"])


def test_team_build_reads_json_and_toml_snapshots(store):
    bm = pytest.importorskip("tokentui.core.benchmarks")
    snap = snapshot(store)
    if "leverage" not in snap.data:
        pytest.skip("leverage section not available")
    for fmt in ("json", "toml"):
        member = bm.parse_snapshot(render(snap, fmt), f"me.{fmt}", toml=fmt == "toml")
        assert member.digest == snap.digest and member.window_days == 28
        assert member.values["tokens_per_week"] > 0


# --- every format: content, round trip, tamper ----------------------------------------------

def content_totals(fmt: str, text: str) -> tuple[int, Decimal]:
    """(total tokens, total cost) as each format shows them."""
    if fmt == "json":
        t = json.loads(text)["data"]["totals"]
        return t["total_tokens"], Decimal(t["cost_usd"])
    if fmt == "toml":
        t = tomllib.loads(text)["data"]["totals"]
        return t["total_tokens"], Decimal(t["cost_usd"])
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO("".join(l for l in text.splitlines(True) if not l.startswith("#")))))
        return sum(int(r["total_tokens"]) for r in rows), sum(Decimal(r["cost_usd"]) for r in rows)
    m = re.search(r"(\d{1,3}(?:,\d{3})+|\d+) in the period" if fmt == "html" else r"\*\*Tokens:\*\* ([\d,]+)", text)
    c = re.search(r"<div class=\"k\">Cost</div><div class=\"v\">\$([\d,.]+)" if fmt == "html"
                  else r"\*\*Cost:\*\* \$([\d,.]+)", text)
    return int(m.group(1).replace(",", "")), Decimal(c.group(1).replace(",", ""))


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_format_shows_the_store_totals_and_verifies(store, fmt):
    snap = snapshot(store, label="Alice")
    text = render(snap, fmt)
    tokens, cost = content_totals(fmt, text)
    assert tokens == sum(r.total for r in in_period())
    assert cost == (Decimal("2.143456") if fmt in ("json", "toml", "csv") else Decimal("2.14"))
    assert snap.digest in text
    v = verify_text(text, render(snap, "json") if fmt == "csv" else None)  # a CSV's data is the file beside it
    assert v.ok and v.format == fmt and v.digest == snap.digest and v.exit_code == 0, v.message
    assert render(snap, fmt) == text  # deterministic


def _flip(text: str, index: int) -> str:
    ch = text[index]
    assert ch.isdigit(), (index, text[index - 20:index + 20])
    return text[:index] + str((int(ch) + 1) % 10) + text[index + 1:]


def tamper_points(fmt: str, text: str, snap) -> dict[str, int]:
    """Where to change one digit: in the data, in the readable part, in the digest."""
    total = snap.data["totals"]["total_tokens"]
    points = {"digest": text.index(snap.digest) + next(i for i, c in enumerate(snap.digest) if c.isdigit())}
    embedded = {"json": f'"total_tokens": {total}', "toml": f"total_tokens = {total}"}.get(
        fmt, f'"total_tokens":{total}')
    if fmt != "csv":  # a CSV's data is in the file beside it (see test_changing_one_digit_anywhere_is_caught)
        points["data"] = text.rindex(embedded) + len(embedded) - 1
    if fmt in ("md", "html"):
        points["readable"] = text.index(f"{total:,}") + 1
    if fmt == "csv":
        points["readable"] = text.index("\n2026-11-18,") + 20
    return points


@pytest.mark.parametrize("fmt", FORMATS)
def test_changing_one_digit_anywhere_is_caught(store, tmp_path, capsys, fmt):
    snap = snapshot(store)
    text = render(snap, fmt)
    side = render(snap, "json") if fmt == "csv" else None  # a CSV is checked with its data file
    for where, index in tamper_points(fmt, text, snap).items():
        bad = _flip(text, index)
        v = verify_text(bad, side)
        assert not v.ok and v.exit_code == 1, (where, v.message)
        f = tmp_path / f"bad-{where}.{fmt}"
        f.write_text(bad, encoding="utf-8")
        if side is not None:
            (tmp_path / f"bad-{where}.{fmt}.verify.json").write_text(side, encoding="utf-8")
        assert main(["verify", str(f)]) == 1
        assert "ALTERED" in capsys.readouterr().err
    if side is not None:  # and one digit of the data file, the digest in it, the digest column
        total = snap.data["totals"]["total_tokens"]
        for index in (side.rindex(f'"total_tokens": {total}') + len(f'"total_tokens": {total}') - 1,
                      side.index(snap.digest) + next(i for i, c in enumerate(snap.digest) if c.isdigit())):
            v = verify_text(text, _flip(side, index))
            assert not v.ok and v.exit_code == 1, v.message
        assert not verify_text(text.replace(snap.digest, snap.digest[::-1], 1), side).ok


def test_harmless_changes_keep_a_snapshot_intact(store):
    snap = snapshot(store)
    md = render(snap, "md")
    assert verify_text(md.replace("\n", "\r\n") + "\n\n").ok  # line endings, trailing blank lines
    env = json.loads(render(snap, "json"))
    assert verify_text(json.dumps(env)).ok  # re-indented JSON
    env["data"]["notes"].append("added later")
    assert not verify_text(json.dumps(env)).ok
    assert not verify_text("just some text").ok
    assert not verify_text(md.replace("```json tokentop-snapshot", "```json")).ok


def test_write_snapshot_file_and_default_name(store, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = write_snapshot(store, load_settings(), ExportOptions(now=NOW, format="html", label="Ada L."))
    assert path.parent == tmp_path and path.name == "tokentop-Ada-L-snapshot-2026-10-24_2026-11-20.html"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and verify_file(path).ok
    out = write_snapshot(store, load_settings(), ExportOptions(now=NOW, format="csv", output=tmp_path / "x.csv"))
    assert out == tmp_path / "x.csv" and verify_file(out).ok


# --- secrets and paths never leave --------------------------------------------------------

def test_no_key_prompt_or_log_path_in_any_export(store, tmp_path, monkeypatch, memkeyring):
    for name, value in KEYS.items():
        monkeypatch.setenv(name, value)
    memkeyring.set_password("tokentop", "openai", KEYRING_KEY)
    cfg = paths.config_file()
    cfg.write_text('timezone = "UTC"\n[budgets.work]\nusd = 100\nperiod = "month"\n', encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    files = []
    for fmt in FORMATS:
        for projects in (False, True):
            f = out / f"s-{projects}.{fmt}"
            argv = ["export", "--no-sync", "--format", fmt, "-o", str(f)] + (["--include-projects"] if projects else [])
            assert main(argv) == 0
            files.append(f)
    forbidden = [*KEYS.values(), KEYRING_KEY, "sk-admin", "sk-ant", "sk-or-", SECRET_PROJECT, FLAT_PROJECT,
                 "/Users/alice", SESSION_PATH, "sess-1", PROMPT, "PROMPT-SECRET", STATUS_PATH, "/home/", "laptop-alice",
                 str(tmp_path), str(paths.config_file())]
    for f in files:
        text = f.read_text(encoding="utf-8")
        assert verify_file(f).ok, f
        for needle in forbidden:
            assert needle not in text, (f.name, needle)
            # embedded JSON escapes some characters: look for the escaped form as well
            assert json.dumps(needle)[1:-1] not in text, (f.name, needle)
    with_projects = (out / "s-True.md").read_text(encoding="utf-8")
    assert "secret-proj" in with_projects and "my-app" in with_projects
    assert "secret-proj" not in (out / "s-False.md").read_text(encoding="utf-8")


# --- the commands end to end -------------------------------------------------------------

def test_cli_export_and_verify_in_process(isolated, tmp_path, capsys):
    seed(known_records(datetime.now(timezone.utc)), datetime.now(timezone.utc))
    target = tmp_path / "snap.md"
    assert main(["export", "-o", str(target), "--name", "Alice", "--period", "7d"]) == 0
    out = capsys.readouterr().out
    assert str(target) in out and "sha256" in out
    assert main(["verify", str(target)]) == 0
    assert "intact" in capsys.readouterr().out
    assert target.read_text(encoding="utf-8").startswith("# Token usage: Alice")
    assert main(["export", "--no-sync", "-o", str(tmp_path / "snap.htm")]) == 0  # format from the extension
    assert verify_file(tmp_path / "snap.htm").format == "html"
    capsys.readouterr()
    assert main(["export", "--no-sync", "--format", "json", "-o", "-"]) == 0
    assert json.loads(capsys.readouterr().out)["format"] == "tokentop-snapshot"
    assert main(["verify", str(tmp_path / "missing.md")]) == 1
    assert main(["verify", "-q", str(target)]) == 0


def test_cli_export_then_verify_in_a_subprocess(isolated, tmp_path):
    seed(known_records(datetime.now(timezone.utc)), datetime.now(timezone.utc))
    env = {**os.environ, "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"}
    target = tmp_path / "snap.toml"

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "tokentui", *args], capture_output=True, text=True, env=env,
                              timeout=120)

    p = run("export", "--no-sync", "--format", "toml", "-o", str(target), "--period", "month")
    assert p.returncode == 0, p.stderr
    v = run("verify", str(target))
    assert v.returncode == 0 and "intact" in v.stdout, v.stderr
    target.write_text(target.read_text(encoding="utf-8").replace("total_tokens = ", "total_tokens = 1", 1),
                      encoding="utf-8")
    v = run("verify", str(target))
    assert v.returncode == 1 and "ALTERED" in v.stderr
    assert run("export", "--help").returncode == 0 and run("verify", "--help").returncode == 0


def test_export_commands_never_import_textual(isolated, tmp_path):
    code = ("import sys; from tokentui.cli import main\n"
            f"assert main(['export', '--no-sync', '--format', 'html', '-o', {str(tmp_path / 'x.html')!r}]) == 0\n"
            f"assert main(['verify', {str(tmp_path / 'x.html')!r}]) == 0\n"
            "assert 'textual' not in sys.modules and 'rich' not in sys.modules\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"})
    assert proc.returncode == 0, proc.stderr


def test_documents_of_an_older_layout_are_checked_as_far_as_this_tokentop_can(store):
    """Layout 2 escaped data text in Markdown and in the CSV's data line; layout 3 opens md and
    html with a summary (so HTML of layouts 1 and 2 no longer renders the same). A document of
    this layout is checked in full; md, html and csv of layout 1 have their data checked (and
    say so), and a change to that data is still caught."""
    from tokentui.export.model import LAYOUT_VERSION, make
    from tokentui.export.verify import RENDERED_LAYOUTS

    assert all(LAYOUT_VERSION in v for v in RENDERED_LAYOUTS.values())
    now = snapshot(store, label="my_team *A*")
    v = verify_text(render(now, "html"))
    assert v.ok and "only the data" not in v.message, v.message
    assert not verify_text(render(now, "html").replace("Token usage", "Token usagE")).ok
    old = make({**now.data, "layout_version": 1})
    from tokentui.export.machine import render_csv_legacy

    for fmt in ("md", "html", "csv"):
        text = render_csv_legacy(old) if fmt == "csv" else render(old, fmt)
        v = verify_text(text)
        assert v.ok and "only the data was checked" in v.message, v.message
        total = f'"total_tokens":{old.data["totals"]["total_tokens"]}'
        assert not verify_text(text.replace(total, total + "1")).ok


def test_an_output_extension_that_is_no_export_format_is_refused(isolated, tmp_path, capsys):
    """`-o out.xlsx` never writes Markdown under a spreadsheet's name: a usage error (exit 2),
    naming the formats, with no file written. An explicit --format, or no extension, still works."""
    seed(known_records(datetime.now(timezone.utc)), datetime.now(timezone.utc))
    for name in ("out.xlsx", "out.PDF", "out.txt"):
        assert main(["export", "--no-sync", "-o", str(tmp_path / name)]) == 2, name
        err = capsys.readouterr().err
        assert err.startswith("tokentop: error: ") and "md, html, json, toml, csv" in err and "--format" in err
        assert not (tmp_path / name).exists()
    assert main(["export", "--no-sync", "--format", "csv", "-o", str(tmp_path / "out.txt")]) == 0
    assert verify_file(tmp_path / "out.txt").format == "csv"
    assert main(["export", "--no-sync", "-o", str(tmp_path / "plain")]) == 0
    assert verify_file(tmp_path / "plain").format == "md"


def test_the_csv_is_plain_rows_a_spreadsheet_opens_and_its_data_file_verifies_it(isolated, tmp_path, capsys):
    """Issue 19 item 14: a header, then one row per day, every row with the same columns and
    no comment lines (the 44 KB data line parsed as 2,267 columns); the digest is a column,
    the data a JSON snapshot written beside the CSV, and `verify` checks both."""
    seed(known_records(datetime.now(timezone.utc)), datetime.now(timezone.utc))
    target = tmp_path / "usage.csv"
    assert main(["export", "--no-sync", "-o", str(target)]) == 0
    out = capsys.readouterr().out
    text = target.read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][0] == "date" and rows[0][-1] == "snapshot_sha256" and len(rows) == 1 + 28
    assert {len(r) for r in rows} == {len(rows[0])}
    assert not any(line.startswith("#") for line in text.splitlines())
    assert max(len(line) for line in text.splitlines()) < 250
    sidecar = tmp_path / "usage.csv.verify.json"
    assert str(sidecar) in out and stat.S_IMODE(sidecar.stat().st_mode) == 0o600
    env = json.loads(sidecar.read_text(encoding="utf-8"))
    assert {r[-1] for r in rows[1:]} == {env["digest"]} and len(env["data"]["daily"]) == 28
    assert sum(int(r[rows[0].index("total_tokens")]) for r in rows[1:]) == env["data"]["totals"]["total_tokens"]
    v = verify_file(target)
    assert v.ok and v.format == "csv" and v.digest == env["digest"], v.message
    assert main(["verify", str(target)]) == 0 and main(["verify", str(sidecar)]) == 0  # the data file is a snapshot too
    # a row changed, the data file changed, or the data file gone: each is caught
    day = rows[-2]
    target.write_text(text.replace(",".join(day), ",".join([day[0], str(int(day[1]) + 1)] + day[2:])), encoding="utf-8")
    assert not verify_file(target).ok
    target.write_text(text, encoding="utf-8")
    good = sidecar.read_text(encoding="utf-8")
    sidecar.write_text(good.replace('"days": 28', '"days": 27'), encoding="utf-8")
    assert not verify_file(target).ok
    sidecar.unlink()
    v = verify_file(target)
    assert not v.ok and "usage.csv.verify.json" in v.message and "beside" in v.message, v.message
    capsys.readouterr()
    assert main(["verify", str(target)]) == 1
    assert "usage.csv.verify.json" in capsys.readouterr().err


def test_a_csv_of_the_old_layout_with_its_data_lines_still_verifies_in_full(store):
    """CSVs written before item 14 (three `#` lines carrying digest and data) are still
    checked, rows included."""
    from tokentui.export.machine import render_csv_legacy
    from tokentui.export.model import make

    old = make({**snapshot(store, label="Alice").data, "layout_version": 2})
    text = render_csv_legacy(old)
    assert text.startswith("# tokentop snapshot") and "# data: {" in text
    v = verify_text(text)
    assert v.ok and v.format == "csv" and "only the data" not in v.message, v.message
    row = next(line for line in text.splitlines() if line[:4].isdigit())
    assert not verify_text(text.replace(row, row.replace(",", ",1", 1))).ok


def test_the_markdown_opens_with_a_summary_and_keeps_its_data_collapsed_at_the_end(store):
    """Issue 19 item 15: the first screen is a summary in plain words; below it the details,
    without rows of zero days or of sources that are not set up; the data for `verify` is a
    collapsed block at the very end, and the document still verifies."""
    with transaction(store):
        for name in ("gemini-cli", "opencode", "amp"):
            ledger.set_status(store, name, "not configured", None, {})
    snap = snapshot(store, label="Alice")
    md = render(snap, "md")
    lines = md.splitlines()
    assert lines.index("## Summary") < lines.index("## Totals") <= 24  # the summary is the first screen
    summary = md[md.index("## Summary"):md.index("## Totals")]
    assert "$2.14" in summary and "72,950 tokens" in summary and "3 of 28 days" in summary
    assert "2026-11-18" in summary  # the busiest day
    assert "claude-sonnet-4-5" in summary and "gpt-4.1-mini" in summary  # most tokens, most cost
    assert "No budget is set" in summary and "codex reported an error" in summary
    readable = md[:md.index("<details>")]
    assert "P10" not in readable and "× 24 hours" not in readable and "T12:00:00Z" not in readable  # jargon
    daily = md[md.index("## Daily"):md.index("## Sources")]
    assert "| 0 |" not in daily and daily.count("| 2026-") == 3 and "25 days without usage" in daily
    sources = md[md.index("## Sources"):md.index("## Method notes")]
    assert "| gemini-cli" not in sources and "Not set up (no records): gemini-cli, opencode, amp." in sources
    assert "| codex | local | error" in sources and "| openai | api | not synced" in sources
    at = next(i for i, ln in enumerate(lines) if ln.startswith("```json tokentop-snapshot"))
    assert lines[at - 2] == "<details><summary>Data for tokentop verify</summary>" and lines[at + 2] == "```"
    assert lines[at + 3:] == ["", "</details>"]
    assert max(len(ln) for ln in lines[:at]) < 400  # nothing above the data block is a blob
    v = verify_text(md)
    assert v.ok and v.format == "md", v.message
    assert not verify_text(md.replace("72,950 tokens", "72,951 tokens")).ok
    # the HTML opens the same way: the summary right after the figures, idle sources on one line
    html = render(snap, "html")
    assert html.index("<h2>Summary</h2>") < html.index("<h2>Daily usage</h2>")
    assert "72,950 tokens in 28 days" in html[:html.index("<h2>Daily usage</h2>")]
    assert "<td>gemini-cli</td>" not in html and "Not set up (no records): gemini-cli, opencode, amp" in html
    assert "P10–P90 " not in html.replace("likely range (P10–P90)", "") and verify_text(html).ok
