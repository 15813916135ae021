"""docs/cli.md names every command and every option of each (connection options aside)."""

from __future__ import annotations

import re
from pathlib import Path

import typer.main

from graphmd.cli import app

CLI_DOC = Path(__file__).resolve().parent.parent / "docs" / "cli.md"
SHARED = {"--uri", "--user", "--password", "--database", "--help"}


def commands() -> dict[str, list[str]]:
    """Each command's full name and its long options."""
    found: dict[str, list[str]] = {}

    def walk(group: object, prefix: list[str]) -> None:
        for name, sub in group.commands.items():  # type: ignore[attr-defined]
            if hasattr(sub, "commands"):
                walk(sub, prefix + [name])
                continue
            found[" ".join(prefix + [name])] = [max(p.opts, key=len) for p in sub.params
                                                if p.param_type_name == "option" and max(p.opts, key=len) not in SHARED]

    walk(typer.main.get_command(app), ["graphmd"])
    return found


def test_the_cli_reference_covers_every_command_and_option():
    text = CLI_DOC.read_text(encoding="utf-8")
    # In the page's order: the first row that names the command is its row, on every run.
    rows = [line for line in text.splitlines() if line.startswith("| `graphmd")]
    for command, options in commands().items():
        last = command.split()[-1]
        # The row that starts with the command, else one that lists it (`executions` in the
        # artifacts row); a row merely mentioning it in passing comes later in the page.
        row = next((r for r in rows if re.match(rf"\| `{re.escape(command)}[ `]", r)), None) or next(
            (r for r in rows if re.search(rf"`{re.escape(command)}[ `]|`{re.escape(last)}`", r.split("|")[1])), None)
        assert row is not None, f"docs/cli.md has no row for {command}"
        for option in options:
            assert f"`{option}" in row, f"docs/cli.md: {command} does not mention {option}"
