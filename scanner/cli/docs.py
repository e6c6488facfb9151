"""The generated parts of docs/: the CLI reference from the real `--help`, the connectors from the
installed entry points, the output fields from the contracts, the exit codes from scanner/core/errors.py.

A generated part sits between `<!-- generated: NAME -->` and `<!-- end generated -->`. Run
`python -m scanner.cli.docs` to write them; a test fails while any is stale.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Callable, Iterator

import click

BLOCK = re.compile(r"(<!-- generated: (?P<name>[\w-]+) -->\n)(.*?)(<!-- end generated -->)", re.S)
WIDTH = 100


def commands(group: click.Group, parent: click.Context) -> Iterator[tuple[str, click.Command, click.Context]]:
    for name in group.list_commands(parent):
        command = group.get_command(parent, name)
        context = click.Context(command, info_name=name, parent=parent, terminal_width=WIDTH,
                                max_content_width=WIDTH, **command.context_settings)
        yield context.command_path, command, context
        if isinstance(command, click.Group):
            yield from commands(command, context)


def cli_reference() -> str:
    from scanner.cli import main

    # as the command line builds them (its context settings give `-h` too)
    root = click.Context(main, info_name="dhscan", terminal_width=WIDTH, max_content_width=WIDTH,
                         **main.context_settings)
    parts = [f"## `dhscan`\n\n```\n{main.get_help(root)}\n```\n"]
    for path, command, context in commands(main, root):
        parts.append(f"## `{path}`\n\n```\n{command.get_help(context)}\n```\n")
    return "\n".join(parts)


def connectors_table() -> str:
    from scanner.connectors import connector_listing, installed_connectors
    from scanner.core.uri import COMMON_OPTIONS

    lines = ["| scheme | reads | apply deletes | redacts | vacuum | options besides the common ones |",
             "| --- | --- | --- | --- | --- | --- |"]
    by_class: dict[str, list[dict]] = {}
    for row in connector_listing():
        if row["distribution"].startswith("dhscan "):  # built in: a plugin installed here is not documented
            by_class.setdefault(row["connector"], []).append(row)
    for rows in by_class.values():
        first = rows[0]
        options = sorted(installed_connectors()[first["scheme"].rstrip(":")].load().options - COMMON_OPTIONS)
        schemes = ", ".join(f"`{row['scheme']}`" for row in rows)
        lines.append(f"| {schemes} | {first['description']} | {first['deletes'] or 'no'} | {first['redacts'] or 'no'} | "
                     f"{'yes' if first['vacuum'] else 'no'} | {', '.join(f'`{o}`' for o in options) or '-'} |")
    return "\n".join(lines) + "\n"


def _type(schema: dict) -> str:
    if "anyOf" in schema:
        return " or ".join(_type(s) for s in schema["anyOf"])
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if "enum" in schema:
        return " / ".join(f"`{v}`" for v in schema["enum"])
    if "const" in schema:
        return f"`{schema['const']}`"
    if schema.get("type") == "array":
        return f"list of {_type(schema.get('items', {}))}"
    return schema.get("type", "any")


def contract_fields(name: str) -> str:
    from scanner.core import formats

    models = {**formats.CONTRACTS, "source-summary": formats.SourceSummary, "evidence-source": formats.EvidenceSource}
    if name == "redaction-row":  # the fields a redaction row adds to a deletion row's
        added = set(formats.RedactionRow.model_fields) - set(formats.DeletionRow.model_fields)
        schema = formats.RedactionRow.model_json_schema()
        lines = ["| field | type | meaning |", "| --- | --- | --- |"]
        for field in (f for f in formats.RedactionRow.model_fields if f in added):
            spec = schema["properties"][field]
            lines.append(f"| `{field}` | {_type(spec)} | {spec.get('description', '')} |")
        return "\n".join(lines) + "\n"
    schema = models[name].model_json_schema()
    lines = ["| field | type | meaning |", "| --- | --- | --- |"]
    for field, spec in schema["properties"].items():
        lines.append(f"| `{field}` | {_type(spec)} | {spec.get('description', '')} |")
    return "\n".join(lines) + "\n"


def exit_codes() -> str:
    from scanner.core import errors

    lines = ["| code | name | meaning |", "| --- | --- | --- |"]
    for name, meaning in errors.EXIT_CODES.items():
        lines.append(f"| {getattr(errors, name)} | `{name}` | {meaning} |")
    return "\n".join(lines) + "\n"


GENERATORS: dict[str, Callable[[], str]] = {
    "cli": cli_reference, "connectors": connectors_table, "exit-codes": exit_codes,
    **{f"fields-{name}": (lambda name=name: contract_fields(name))
       for name in ("finding", "deletion-row", "redaction-row", "legal-hold-row", "summary", "source-summary",
                    "evidence")},
}


def rendered(text: str) -> str:
    """`text` with every generated block made afresh."""
    def block(match: re.Match) -> str:
        name = match["name"]
        if name not in GENERATORS:
            raise KeyError(f"no generator for block {name!r}")
        return f"{match[1]}{GENERATORS[name]()}{match[4]}"

    return BLOCK.sub(block, text)


def stale(docs: Path) -> dict[Path, str]:
    """The pages whose generated blocks are out of date, with what they should hold."""
    pages = {}
    for page in sorted(docs.glob("*.md")):
        text = page.read_text(encoding="utf-8")
        fresh = rendered(text)
        if fresh != text:
            pages[page] = fresh
    return pages


if __name__ == "__main__":  # python -m scanner.cli.docs [DOCS_FOLDER]
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else "docs")
    for page, text in stale(folder).items():
        page.write_text(text, encoding="utf-8")
        print(f"updated {page}")
    from scanner.core.formats import schema_files

    for name, text in schema_files().items():
        (folder / "schemas" / name).write_text(text, encoding="utf-8")
