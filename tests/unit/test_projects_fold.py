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
    assert display_name(None) == "(no project)"
    # an encoded name no recorded folder matched: without its home-folder part (as ccusage's
    # tables and tokentop's snapshot show it); the rest of a flattened path cannot be split
    assert display_name("-Users-me-code-api") == "code-api"
    assert display_name("-home-dev-api-server") == "api-server"
    assert display_name("C--Users-al-repo") == "repo" and display_name("-root-api") == "api"
    assert display_name("-srv-api") == "-srv-api" and display_name("-home-dev-") == "-home-dev-"
    assert display_name("gemini-slug") == "gemini-slug"


def test_an_encoded_name_is_the_folder_another_agent_recorded():
    got = fold_projects(["-home-me-api", "/home/me/api", "-home-me-api--claude-worktrees-a1",
                         "-home-me-web", "C--code-tool", "C:\\code\\tool\\", "-home-me-lib",
                         "/home/me/lib/.worktrees/x", "-home-me-api-web", "/home/me/api/web"])
    assert got["-home-me-api"] == "/home/me/api"  # Claude Code and Codex in one repository
    assert got["-home-me-api--claude-worktrees-a1"] == "/home/me/api"  # a Claude worktree too
    assert got["C--code-tool"] == "C:/code/tool"  # a Windows folder
    assert got["-home-me-lib"] == "/home/me/lib"  # only a worktree of it was recorded
    assert got["-home-me-api-web"] == "/home/me/api"  # the subfolder, folded as its path is
    assert got["-home-me-web"] == "-home-me-web"  # no agent recorded /home/me/web
    # two recorded folders with one encoding: which one is unknowable, so neither
    amb = fold_projects(["-a-b-c", "/a/b-c", "/a/b/c"])
    assert amb["-a-b-c"] == "-a-b-c" and amb["/a/b/c"] == "/a/b/c"
    assert fold_projects(["-a-b-c", "/a/b.c"])["-a-b-c"] == "/a/b.c"  # one folder: it is that one


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


def test_a_bare_folder_name_is_the_one_recorded_folder_with_that_name():
    got = fold_projects(["/home/u/proj", "proj", "-home-u-proj", "web", "/home/u/a/web", "/home/u/b/web",
                         "lonely", "api", "/home/u/api/.worktrees/x", "src", "/home/u/api/src", "-x-proj"])
    assert got["proj"] == "/home/u/proj" == got["-home-u-proj"]  # Goose or pi, Claude Code and Codex: one
    assert got["web"] == "web"  # two folders named web: which one is unknowable
    assert got["lonely"] == "lonely"
    assert got["api"] == "/home/u/api"  # only a worktree of it was recorded
    assert got["src"] == "src"  # a subfolder's name may be another repository's: left alone
    assert got["-x-proj"] == "-x-proj"  # an encoded name is matched by its encoding only
    assert fold_projects(["proj"]) == {"proj": "proj"}


def test_a_sha256_name_is_the_folder_it_hashes():
    import hashlib

    h = hashlib.sha256(b"/home/u/legacy-app").hexdigest()  # an older Gemini CLI's folder name
    got = fold_projects([h, "-home-u-legacy-app", "0" * 64], folders=["/home/u/legacy-app"])
    assert got[h] == "/home/u/legacy-app" == got["-home-u-legacy-app"]
    assert got["0" * 64] == "0" * 64
    assert fold_projects([h]) == {h: h}  # no folder known: left alone
