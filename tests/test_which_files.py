"""Which files are checked, and which settings apply (Ruff's rules): named paths are checked
even when excluded, unless --force-exclude; the configuration is found from what is checked."""

from __future__ import annotations

from pathlib import Path

from tests.clitools import KERAS2, run_cli, write_tree

ARGS = ("--no-cache", "-j", "1", "--output-format", "concise")


def check(cwd: Path, *args: str):  # type: ignore[no-untyped-def]
    return run_cli("check", *ARGS, *args, cwd=cwd)


def test_a_named_directory_is_checked_even_when_excluded(tmp_path: Path) -> None:
    write_tree(tmp_path, {"build/model.py": KERAS2, "build/dist/inner.py": KERAS2, "train.py": KERAS2})
    out = check(tmp_path, "build")
    assert out.code == 1
    assert "build/model.py:2:" in out.stdout
    assert "inner.py" not in out.stdout  # excludes still apply below the named folder
    walked = check(tmp_path, ".")
    assert "build/" not in walked.stdout and "train.py:2:" in walked.stdout


def test_force_exclude_applies_excludes_to_named_paths(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "pyproject.toml": '[tool.reglint]\nextend-exclude = ["vendored"]\n',
            "vendored/lib.py": KERAS2,
            "ignored/x.py": KERAS2,
            ".gitignore": "ignored/\n",
            ".git/HEAD": "ref: refs/heads/main\n",
        },
    )
    assert check(tmp_path, "vendored/lib.py").code == 1
    skipped = check(tmp_path, "--force-exclude", "vendored/lib.py", "ignored/x.py")
    assert skipped.code == 0
    assert "no Python files or notebooks found to check" in skipped.stderr
    assert "All checks passed" not in skipped.stdout


def test_nothing_to_check_is_a_warning(tmp_path: Path) -> None:
    write_tree(tmp_path, {"README.md": "# nothing here\n"})
    out = check(tmp_path)
    assert out.code == 0 and "All checks passed" not in out.stdout
    assert "warning: no Python files or notebooks found to check" in out.stderr
    as_json = check(tmp_path, "--output-format", "json")
    assert as_json.stdout.strip() == "[]"


def test_configuration_is_found_from_the_checked_path(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    write_tree(project, {"pyproject.toml": '[tool.reglint]\nignore = ["REG010"]\n', "m.py": KERAS2})
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert check(elsewhere, str(project)).code == 0
    assert check(elsewhere, str(project / "m.py")).code == 0
    assert check(elsewhere, "--isolated-files", str(project / "m.py")).code == 0


def test_reglint_toml_holds_top_level_keys_and_wins_over_pyproject(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "pyproject.toml": '[tool.reglint]\nselect = ["REG001"]\n',
            "reglint.toml": 'ignore = ["REG010"]\n',
            "m.py": KERAS2,
        },
    )
    assert check(tmp_path).code == 0
    out = check(tmp_path, "--show-settings")
    assert "reglint.toml" in out.stdout and "REG010" not in out.stdout.split("rules:")[1].splitlines()[0]
    (tmp_path / ".reglint.toml").write_text("[tool.reglint]\nignore = []\n")
    bad = check(tmp_path)
    assert bad.code == 2 and "unknown key 'tool'" in bad.stderr and ".reglint.toml" in bad.stderr


def test_config_flag_on_a_file_that_configures_nothing_is_an_error(tmp_path: Path) -> None:
    write_tree(tmp_path, {"pyproject.toml": '[project]\nname = "p"\n', "m.py": KERAS2})
    out = check(tmp_path, "--config", "pyproject.toml")
    assert out.code == 2 and "no [tool.reglint] table" in out.stderr


def test_show_files_lists_what_would_be_checked(tmp_path: Path) -> None:
    write_tree(tmp_path, {"a.py": "x = 1\n", "nb.ipynb": "{}", "dist/b.py": "x = 1\n", "c.txt": "x"})
    out = check(tmp_path, "--show-files")
    assert out.code == 0
    assert sorted(out.stdout.split()) == ["a.py", "nb.ipynb"]


def test_show_settings_says_where_each_setting_came_from(tmp_path: Path) -> None:
    write_tree(tmp_path, {"pyproject.toml": '[tool.reglint]\nignore = ["REG003"]\ncache-dir = ".cache"\n'})
    out = check(tmp_path, "--show-settings", "--extend-select", "REG011")
    lines = out.stdout.splitlines()
    config = str(tmp_path / "pyproject.toml")
    assert f'ignore = ["REG003"] (from {config})' in lines
    assert f'cache-dir = ".cache" (from {config})' in lines
    assert 'extend-select = ["REG011"] (from --extend-select)' in lines
    assert "respect-gitignore = true (default)" in lines
    assert "warning" not in out.stderr
