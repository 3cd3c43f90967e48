"""The project folding rule (core.projects): worktrees and subfolders of one repo together."""

from tokentui.core.projects import display_name, fold_projects, normalize


def test_worktrees_fold_into_their_repository():
    assert normalize("/Users/me/code/api/.worktrees/feat-x") == "/Users/me/code/api"
    assert normalize("/Users/me/code/api/.claude/worktrees/agent-1/") == "/Users/me/code/api"
    assert normalize("/home/me/api.worktrees/fix") == "/home/me/api"
    assert normalize("C:\\code\\api\\.worktrees\\b1") == "C:/code/api"
    # Claude Code's encoded folder names: `--` is an encoded "/."
    assert normalize("-Users-me-code-api--claude-worktrees-agent-1") == "-Users-me-code-api"
    assert normalize("-Users-me-code-api--worktrees-feat") == "-Users-me-code-api"
    assert normalize("-Users-me-code-api") == "-Users-me-code-api"


def test_subfolders_fold_into_the_recorded_repository_but_never_into_home():
    got = fold_projects(["/home/me/api", "/home/me/api/web/src", "/home/me/api-server", "/home/me",
                         "/home/me/docs", "-home-me-api", "-home-me-api-web", None])
    assert got["/home/me/api/web/src"] == "/home/me/api"
    assert got["/home/me/api-server"] == "/home/me/api-server"  # a sibling, not a subfolder
    assert got["/home/me/docs"] == "/home/me/docs"  # home swallows nothing
    assert got["/home/me"] == "/home/me"
    assert got["-home-me-api-web"] == "-home-me-api-web"  # encoded: cannot tell a subfolder
    assert got[None] is None


def test_display_names():
    assert display_name("/home/me/api") == "api"
    assert display_name("-Users-me-code-api") == "-Users-me-code-api"
    assert display_name(None) == "(no project)"


def test_windows_cycle_and_efficiency():
    from tokentui.core.totals import Totals
    from tokentui.core.windows import WINDOWS, efficiency, next_window, window

    assert [w.name for w in WINDOWS] == ["5m", "1h", "24h", "7d", "30d", "all"]
    assert next_window(window("all")).name == "5m" and next_window(window("24h")).name == "7d"
    assert window("1h").since_ms(10_000_000) == 10_000_000 - 3_600_000 and window("all").since_ms(5) is None
    a = Totals(input=100, output=100, cache_write=100, cache_read=700, cost_pico=9_000, requests=3)
    b = Totals(input=0, output=0, cache_read=0, cost_pico=1_000, requests=1)
    total = Totals()
    total.add(a)
    total.add(b)
    e = efficiency(total, {"opus": a, "haiku": b})
    assert abs(e.cache_hit - 7 / 9) < 1e-12 and e.output_share == 0.1 and e.cost_per_request_pico == 2_500
    assert e.top_model == "opus"
    unpriced = Totals(input=10, unpriced_tokens=10, requests=1)
    assert efficiency(unpriced, {"x": unpriced}).cost_per_request_pico is None  # never $0 for unknown


def test_cost_per_request_is_not_shown_when_part_is_unpriced():
    from tokentui.core.totals import Totals
    from tokentui.core.windows import efficiency

    mixed = Totals(input=100, cost_pico=4_000, unpriced_tokens=50, requests=4)
    assert efficiency(mixed, {}).cost_per_request_pico is None  # 4 requests, one without a price: not $0.001
    assert efficiency(Totals(input=100, cost_pico=4_000, requests=4), {}).cost_per_request_pico == 1_000
