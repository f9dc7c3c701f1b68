"""One guard for what every request carries, whatever the route: its JSON body, query string,
path and form fields. What no route can use is refused here with a problem naming the field,
before any schema or service sees it:

- a JSON body nested deeper than :data:`MAX_DEPTH` levels (the standard parser would hit
  Python's recursion limit on tens of thousands of levels: a 500), or with a key given twice
  in one object (parsers disagree on which one wins): **400**;
- a lone UTF-16 surrogate (``"\\ud800"``: no UTF-8 encoding exists, the database driver fails)
  or a NUL character (PostgreSQL refuses it, SQLite would store it) in any string or key, and a
  number no column can hold (``NaN``, ``Infinity``, ``1e400``, integers of more than
  :data:`MAX_INT_DIGITS` digits): **422**.

The body is parsed by the app's request class (:class:`GuardedRequest`, so
``request.get_json()`` in a view gets the guarded, cached document) in a ``before_request`` hook
that runs for every JSON request; webargs parses the same, now known-sane, text afterwards.
Only request bodies go through this parser; the app's JSON provider is untouched.
"""

from __future__ import annotations

import json
import math
from typing import Any

from flask import Flask, Request, request
from werkzeug.exceptions import BadRequest, UnprocessableEntity

MAX_DEPTH = 32  # the deepest request document (GeoJSON multipolygons) needs 6
MAX_INT_DIGITS = 40  # larger than any 128-bit integer; Python itself refuses more than 4300


class _Duplicates(dict):
    """An object whose JSON text named some keys twice (found by the walk, with its path)."""

    duplicates: list[str]


class _BadNumber:
    def __init__(self, text: str) -> None:
        self.text = text


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        marked = _Duplicates(obj)
        marked.duplicates = sorted({k for k, _ in pairs if k in seen or seen.add(k)})  # type: ignore[func-returns-value]
        return marked
    return obj


def _number(text: str) -> Any:
    value = float(text)
    return value if math.isfinite(value) else _BadNumber(text)


def _integer(text: str) -> Any:
    return int(text) if len(text.lstrip("-")) <= MAX_INT_DIGITS else _BadNumber(text[:12] + "...")


def _bad_text(text: str) -> str | None:
    if "\x00" in text:
        return "contains a NUL character"
    if any("\ud800" <= ch <= "\udfff" for ch in text):
        return "contains a lone UTF-16 surrogate (not a character)"
    return None


def _name(path: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in path) or "_schema"


def _refuse(status: type[BadRequest], errors: dict[str, list[str]]) -> BadRequest:
    error = status()
    error.data = {"messages": {"json": errors}}  # type: ignore[attr-defined]
    return error


def check_document(document: Any) -> None:
    """Walk a parsed body (iteratively: the depth is what is being checked)."""
    structure: dict[str, list[str]] = {}
    values: dict[str, list[str]] = {}
    stack: list[tuple[Any, tuple[Any, ...]]] = [(document, ())]
    while stack:
        node, path = stack.pop()
        if len(path) > MAX_DEPTH:
            structure.setdefault(_name(path[:MAX_DEPTH]), []).append(f"nested deeper than {MAX_DEPTH} levels")
            continue
        if isinstance(node, dict):
            for key in getattr(node, "duplicates", ()):
                structure.setdefault(_name((*path, key)), []).append("the key is given twice")
            for key, value in node.items():
                problem = _bad_text(key)
                if problem:
                    values.setdefault(_name(path) if path else "_schema", []).append(f"a key {problem}")
                    continue
                stack.append((value, (*path, key)))
        elif isinstance(node, list):
            stack.extend((item, (*path, index)) for index, item in enumerate(node))
        elif isinstance(node, str):
            problem = _bad_text(node)
            if problem:
                values.setdefault(_name(path), []).append(problem)
        elif isinstance(node, _BadNumber):
            values.setdefault(_name(path), []).append(f"{node.text} is not a number any field can hold")
    if structure:
        raise _refuse(BadRequest, structure)
    if values:
        raise _refuse(UnprocessableEntity, values)


def parse_json(text: str | bytes) -> Any:
    """Parse a request body and refuse what no route can use (see the module docstring)."""
    try:
        document = json.loads(text, object_pairs_hook=_pairs, parse_float=_number, parse_int=_integer,
                               parse_constant=_BadNumber)
    except RecursionError as exc:
        raise _refuse(BadRequest, {"_schema": [f"nested deeper than {MAX_DEPTH} levels"]}) from exc
    except (ValueError, TypeError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise _refuse(BadRequest, {"_schema": ["Invalid JSON body."]}) from exc
    check_document(document)
    return document


class _GuardedJson:
    """What ``Request.get_json`` parses bodies with."""

    loads = staticmethod(parse_json)
    dumps = staticmethod(json.dumps)


class GuardedRequest(Request):
    """The app's request class: ``request.get_json()`` parses with :func:`parse_json`.

    Flask points every new request's ``json_module`` at the app's JSON provider; that
    assignment is ignored here, so the provider itself (responses, the test client) stays as is.
    """

    @property
    def json_module(self) -> type[_GuardedJson]:  # type: ignore[override]
        return _GuardedJson

    @json_module.setter
    def json_module(self, _provider: Any) -> None:
        pass


def _check_parameters(location: str, items: list[tuple[str, Any]]) -> None:
    errors: dict[str, list[str]] = {}
    for name, value in items:
        for text in (name, value if isinstance(value, str) else ""):
            problem = _bad_text(text)
            if problem:
                errors.setdefault(name if text is value else location, []).append(problem)
    if errors:
        error = UnprocessableEntity()
        error.data = {"messages": {location: errors}}  # type: ignore[attr-defined]
        raise error


def guard_request() -> None:
    """The ``before_request`` hook: query string, path, form fields, then the JSON body."""
    _check_parameters("query", list(request.args.items(multi=True)))
    _check_parameters("path", list((request.view_args or {}).items()))
    if request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        _check_parameters("form", list(request.form.items(multi=True)))
    if request.is_json and request.get_data(cache=True):
        request.get_json()  # parsed by GuardedRequest (cached for the view); raises on abuse


def init_app(app: Flask) -> None:
    app.request_class = GuardedRequest
