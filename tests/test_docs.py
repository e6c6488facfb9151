"""Every command and option is documented in the README; the README's commands are what CI runs."""

import re
from pathlib import Path

import click

from scanner.core import errors
from scanner.cli import main

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def commands(group: click.Group, prefix: str = "dhscan"):
    for name, command in group.commands.items():
        yield f"{prefix} {name}", command
        if isinstance(command, click.Group):
            yield from commands(command, f"{prefix} {name}")


def test_every_command_and_option_is_in_the_readme():
    missing = []
    for path, command in commands(main):
        if f"`{path}" not in README:
            missing.append(path)
        for param in command.params:
            if isinstance(param, click.Option):
                for opt in param.opts:
                    if opt.startswith("--") and f"`{opt}" not in README:
                        missing.append(f"{path} {opt}")
    assert missing == []


def test_every_exit_code_is_in_the_readme():
    for name in dir(errors):
        if name.startswith("EXIT_"):
            assert re.search(rf"\| {getattr(errors, name)} \| `{name}` \|", README), name


def test_ci_runs_both_readme_commands():
    blocks = re.findall(r"```\n(.*?)\n```", README, flags=re.S)
    demo, tests = blocks[0], blocks[1]
    assert "dhscan scan" in demo and "pytest" in tests
    ci = (ROOT / ".ci" / "run").read_text()
    assert demo in ci and tests in ci
