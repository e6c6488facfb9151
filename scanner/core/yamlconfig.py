"""Strict YAML configuration: validated by a pydantic model, errors name the file, the line and the problem."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from scanner.core.errors import UsageError, one_line

M = TypeVar("M", bound=BaseModel)
Location = tuple[Any, ...]


# Nodes one configuration document may expand to: aliases repeat nodes, and ten lines of them can
# otherwise expand to billions (a "billion laughs" document).
MAX_NODES = 100_000


def _construct(node: yaml.Node, where: Location, lines: dict[Location, int], loader: yaml.SafeLoader) -> Any:
    lines[where] = node.start_mark.line + 1
    if len(lines) > MAX_NODES:
        raise UsageError(f"line {node.start_mark.line + 1}: the document expands to more than {MAX_NODES:,} "
                         "values (aliases repeating aliases?)")
    if isinstance(node, yaml.MappingNode):
        result = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if key in result:
                raise UsageError(f"line {key_node.start_mark.line + 1}: key {key!r} given twice")
            lines[(*where, key)] = key_node.start_mark.line + 1
            result[key] = _construct(value_node, (*where, key), lines, loader)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_construct(child, (*where, i), lines, loader) for i, child in enumerate(node.value)]
    try:
        return loader.construct_object(node, deep=True)
    except (ValueError, TypeError, OverflowError) as exc:  # e.g. an unquoted date 2026-13-45
        raise UsageError(f"line {node.start_mark.line + 1}: {one_line(exc)}") from None


def load_yaml(path: str | Path) -> tuple[Any, dict[Location, int]]:
    """The document and the line each key and item starts on."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror}") from None
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        lines: dict[Location, int] = {}
        data = _construct(node, (), lines, loader) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        raise UsageError(f"{path}:{mark.line + 1 if mark else '?'}: not valid YAML: {exc.problem}") from None
    except UsageError as exc:
        raise UsageError(f"{path}:{str(exc).removeprefix('line ')}") from None
    finally:
        loader.dispose()
    return data, lines


def line_of(lines: dict[Location, int], where: Location) -> int | None:
    """The line of the nearest enclosing key or item that was given."""
    for cut in range(len(where), -1, -1):
        if tuple(where[:cut]) in lines:
            return lines[tuple(where[:cut])]
    return None


def validate(model: type[M], data: Any, path: str | Path, lines: dict[Location, int], base: Location = ()) -> M:
    """The model of `data`, or a UsageError naming the file, line and key of the first problem."""
    found, problems = validated(model, data, path, lines, base)
    if problems:
        raise UsageError(problems[0])
    return found


def validated(model: type[M], data: Any, path: str | Path, lines: dict[Location, int],
              base: Location = ()) -> tuple[M | None, list[str]]:
    """The model of `data` and no problems, or None and one line per problem (file:line: key: what)."""
    try:
        return model.model_validate(data if data is not None else {}), []
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            where = (*base, *error["loc"])
            line = line_of(lines, where)
            field = ".".join(str(part) for part in where) or "(top level)"
            message = error["msg"].removeprefix("Value error, ")
            if error["type"] == "extra_forbidden":
                message = "unknown key"
            problems.append(f"{path}:{line or '?'}: {field}: {message}")
        return None, problems


def load_model(model: type[M], path: str | Path) -> M:
    data, lines = load_yaml(path)
    return validate(model, data, path, lines)
