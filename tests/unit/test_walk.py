"""walk_files: symlinked folders are followed, each real folder is listed once, loops end."""

from __future__ import annotations

import os
from pathlib import Path

from tokentui.sources.common import walk_files


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{}\n")
    return path


def _names(root: Path, **kw) -> list[str]:
    return sorted(os.path.relpath(p, root) for p in walk_files(root, (".jsonl",), **kw))


def test_loops_and_repeated_links_list_each_file_once(tmp_path) -> None:
    root = tmp_path / "root"
    _touch(root / "a" / "one.jsonl")
    _touch(root / "a" / "b" / "two.jsonl")
    _touch(root / "a" / "skip.txt")
    os.symlink(root / "a", root / "a" / "b" / "loop")  # back to an ancestor
    os.symlink(root, root / "a" / "top")  # back to the root itself
    outside = tmp_path / "outside"
    _touch(outside / "three.jsonl")
    os.symlink(outside, root / "link1")
    os.symlink(outside, root / "a" / "link2")  # the same outside folder again
    got = _names(root)
    assert sorted(Path(n).name for n in got) == ["one.jsonl", "three.jsonl", "two.jsonl"]


def test_a_link_to_a_folder_inside_the_tree_adds_nothing(tmp_path) -> None:
    root = tmp_path / "root"
    _touch(root / "real" / "x.jsonl")
    os.symlink(root / "real", root / "alias")
    assert [Path(n).name for n in _names(root)] == ["x.jsonl"]


def test_depth_is_capped(tmp_path) -> None:
    root = tmp_path / "root"
    deep = root
    for i in range(5):
        deep = deep / f"d{i}"
        _touch(deep / f"f{i}.jsonl")
    assert len(_names(root, max_depth=3)) == 3  # d0, d1, d2 are listed; d3 is the fourth level
    assert len(_names(root)) == 5


def test_missing_root_and_files_vanishing(tmp_path) -> None:
    assert _names(tmp_path / "nope") == []
    errors: list[str] = []
    assert list(walk_files(_touch(tmp_path / "file.jsonl"), (".jsonl",), errors)) == []  # a file, not a folder
    assert errors and "file.jsonl" in errors[0]
