"""Every command and every option documents itself."""

import click
import typer.main

from agentcal.cli.main import app


def _walk(command: click.Command, path: str = "agentcal"):
    yield path, command
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            yield from _walk(sub, f"{path} {name}")


def test_every_command_and_option_has_help():
    root = typer.main.get_command(app)
    missing = []
    for path, command in _walk(root):
        if not (command.help or command.short_help):
            missing.append(path)
        for param in command.params:
            if isinstance(param, click.Option) and not param.help:
                missing.append(f"{path} {param.opts[0]}")
            if isinstance(param, click.Argument) and not getattr(param, "help", None):
                missing.append(f"{path} <{param.name}>")
    assert missing == []


def test_help_lists_every_group(cli):
    result = cli("--help")
    assert result.exit_code == 0
    for group in ("config", "db", "insights", "prefs", "costs", "logs"):
        assert group in result.output
