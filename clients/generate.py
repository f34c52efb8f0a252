"""Regenerate both typed clients from the committed OpenAPI document.

    .venv/bin/python -m clients.generate           # write them
    .venv/bin/python -m clients.generate --check   # exit 1 if either is stale

The Python client (`clients/python/loyalty_client/_generated.py`) is written by this script:
a TypedDict per schema and one method per operation, named by its operation id in snake case.
The TypeScript types (`clients/typescript/src/schema.d.ts`) come from openapi-typescript, the
version pinned in `clients/typescript/package-lock.json` (installed with `npm ci`); this script
writes `src/operations.ts`, every operation by its id over openapi-fetch's typed calls.
"""

from __future__ import annotations

import argparse
import json
import keyword
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DOCUMENT = ROOT / "openapi" / "openapi.json"
PYTHON_OUT = ROOT / "clients" / "python" / "loyalty_client" / "_generated.py"
TYPESCRIPT_DIR = ROOT / "clients" / "typescript"
TYPESCRIPT_OUT = TYPESCRIPT_DIR / "src" / "schema.d.ts"
TYPESCRIPT_OPERATIONS = TYPESCRIPT_DIR / "src" / "operations.ts"

__all__ = ["ensure_node_modules", "python_client", "typescript_operations", "typescript_schema"]


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _ident(name: str) -> str:
    out = re.sub(r"\W", "_", name)
    return f"{out}_" if keyword.iskeyword(out) else out


def _type(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return repr(schema["$ref"].rsplit("/", 1)[1])[1:-1]
    if "const" in schema:
        return f"Literal[{schema['const']!r}]"
    if "enum" in schema:
        return "Literal[" + ", ".join(repr(v) for v in schema["enum"]) + "]"
    for union in ("oneOf", "anyOf"):
        if union in schema:
            parts = list(dict.fromkeys(_type(s) for s in schema[union]))
            return " | ".join(parts)
    kind = schema.get("type")
    if isinstance(kind, list):
        return " | ".join(_type({**schema, "type": k}) for k in kind)
    if kind == "string":
        return "str"
    if kind == "integer":
        return "int"
    if kind == "number":
        return "float"
    if kind == "boolean":
        return "bool"
    if kind == "null":
        return "None"
    if kind == "array":
        return f"list[{_type(schema.get('items', {}))}]"
    if kind == "object":
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict) and extra:
            return f"dict[str, {_type(extra)}]"
        return "dict[str, Any]"
    return "Any"


def _typed_dict(name: str, schema: dict[str, Any]) -> str:
    props: dict[str, Any] = schema.get("properties", {})
    required = set(schema.get("required", []))
    doc = (schema.get("description") or "").strip().replace('"""', "'''")
    fields = []
    for prop, sub in props.items():
        annotation = _type(sub)
        if prop not in required:
            annotation = f"NotRequired[{annotation}]"
        fields.append((prop, annotation))
    if not props and schema.get("type") != "object":
        return f"{name} = {_type(schema)}\n"
    if any(not p.isidentifier() or keyword.iskeyword(p) for p, _ in fields):
        body = ", ".join(f"{json.dumps(p)}: {a!s}" for p, a in fields)
        return f'{name} = TypedDict("{name}", {{{body}}})\n'
    lines = [f"class {name}(TypedDict):"]
    if doc:
        lines.append(f'    """{doc}"""')
        lines.append("")
    lines += [f"    {p}: {a}" for p, a in fields] or ["    pass"]
    return "\n".join(lines) + "\n"


def _response_type(op: dict[str, Any]) -> tuple[str, str]:
    """(annotation, how to read the body: json or text) of the operation's first 2xx answer."""
    for status, answer in sorted(op.get("responses", {}).items()):
        if not status.startswith("2"):
            continue
        content = answer.get("content", {})
        if "application/json" in content:
            return _type(content["application/json"].get("schema", {})), "json"
        if content:
            return "str", "text"
        return "None", "none"
    return "None", "none"


def _method(path: str, method: str, op: dict[str, Any]) -> str:
    name = _snake(op["operationId"])
    params = op.get("parameters", [])
    positional = [p for p in params if p["in"] == "path"]
    keyword_only = [p for p in params if p["in"] in ("query", "header")]
    args = ["self", *(f"{_ident(p['name'])}: str" for p in positional)]
    kw: list[str] = []
    body = op.get("requestBody")
    if body is not None:
        schema = body["content"]["application/json"]["schema"]
        kw.append(f"body: {_type(schema)}")
    for p in keyword_only:
        annotation = _type(p.get("schema", {}))
        if p.get("required") and p["in"] == "header":
            kw.append(f"{_ident(_snake(p['name'].replace('-', '')))}: {annotation}")
        else:
            if "None" not in annotation.split(" | "):
                annotation += " | None"
            kw.append(f"{_ident(_snake(p['name'].replace('-', '')))}: {annotation} = None")
    signature = ", ".join(args + (["*", *kw] if kw else []))
    returns, reads = _response_type(op)
    url = path
    for p in positional:
        url = url.replace("{" + p["name"] + "}", "{_quote(" + _ident(p["name"]) + ")}")
    summary = (op.get("summary") or "").strip().replace('"""', "'''")
    query = ", ".join(
        f"{json.dumps(p['name'])}: {_ident(_snake(p['name'].replace('-', '')))}"
        for p in keyword_only
        if p["in"] == "query"
    )
    headers = ", ".join(
        f"{json.dumps(p['name'])}: {_ident(_snake(p['name'].replace('-', '')))}"
        for p in keyword_only
        if p["in"] == "header"
    )
    literal = ("f" if "{" in url else "") + json.dumps(url)
    call = (
        f"self._send({json.dumps(method.upper())}, {literal}, "
        f"query={{{query}}}, headers={{{headers}}}, "
        f"body={'body' if body is not None else 'None'}, reads={json.dumps(reads)})"
    )
    lines = [f"    def {name}({signature}) -> {returns}:"]
    lines.append(f'        """`{method.upper()} {path}`: {summary}"""')
    if returns == "None":
        lines.append(f"        {call}")
    else:
        lines.append(f"        return cast({json.dumps(returns)}, {call})")
    return "\n".join(lines) + "\n"


HEADER = '''"""Generated from openapi/openapi.json by `python -m clients.generate`: do not edit.

API version {version}. One method per operation, named by its operation id in snake case;
bodies and answers are TypedDicts (dates and decimals as the JSON strings they travel as).
"""

# ruff: noqa: E501
from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict, cast

from loyalty_client._transport import Transport, _quote

__all__ = ["GeneratedClient"]

'''


def python_client(document: dict[str, Any]) -> str:
    """The Python client's generated module for `document`."""
    out = [HEADER.format(version=document["info"]["version"])]
    for name, schema in sorted(document["components"]["schemas"].items()):
        out.append("\n" + _typed_dict(name, schema))
    out.append(
        "\n\nclass GeneratedClient(Transport):\n"
        '    """Every operation of the API (see `loyalty_client.LoyaltyClient`)."""\n\n'
    )
    methods = []
    for path, item in sorted(document["paths"].items()):
        for method, op in item.items():
            methods.append((op["operationId"], _method(path, method, op)))
    out.append("\n".join(text for _, text in sorted(methods)))
    return _formatted("".join(out))


def _formatted(source: str) -> str:
    """`source` as `ruff format` (the repository's settings) writes it."""
    done = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--stdin-filename", str(PYTHON_OUT), "-"],
        input=source,
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return done.stdout


def typescript_operations(document: dict[str, Any]) -> str:
    """`src/operations.ts`: every operation by its id, over openapi-fetch's typed calls."""
    lines = [
        "// Generated from openapi/openapi.json by `python -m clients.generate`: do not edit.",
        'import { wrapAsPathBasedClient } from "openapi-fetch";',
        'import type { Client } from "openapi-fetch";',
        "",
        'import type { paths } from "./schema.js";',
        "",
        "/** Every operation of the API by its operation id, each typed as openapi-fetch types",
        " * its path: `ops.getMe()`, `ops.redeem({ params: { path, header }, body })`. */",
        "export function operationsOf(client: Client<paths>) {",
        "  const at = wrapAsPathBasedClient(client);",
        "  return {",
    ]
    rows = sorted(
        (op["operationId"], method, path, (op.get("summary") or "").replace("*/", "* /"))
        for path, item in document["paths"].items()
        for method, op in item.items()
    )
    for op_id, method, path, summary in rows:
        lines.append(f"    /** `{method.upper()} {path}`: {summary} */")
        lines.append(f"    {op_id}: at[{json.dumps(path)}].{method.upper()},")
    lines += ["  };", "}", "", "export type Operations = ReturnType<typeof operationsOf>;", ""]
    return "\n".join(lines)


def ensure_node_modules() -> None:
    """Install the TypeScript client's pinned packages (`npm ci`) unless they are there and
    match the lock file."""
    marker = TYPESCRIPT_DIR / "node_modules" / ".package-lock.json"
    lock = TYPESCRIPT_DIR / "package-lock.json"
    if marker.exists() and marker.stat().st_mtime >= lock.stat().st_mtime:
        return
    subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=TYPESCRIPT_DIR,
        check=True,
    )


def typescript_schema() -> str:
    """The TypeScript types openapi-typescript makes of the committed document."""
    ensure_node_modules()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "schema.d.ts"
        subprocess.run(
            [
                str(TYPESCRIPT_DIR / "node_modules" / ".bin" / "openapi-typescript"),
                str(DOCUMENT),
                "--output",
                str(out),
            ],
            cwd=TYPESCRIPT_DIR,
            check=True,
            capture_output=True,
        )
        return out.read_text()


def main() -> int:
    parser = argparse.ArgumentParser(description="Regenerate the typed clients.")
    parser.add_argument("--check", action="store_true", help="exit 1 when either is stale")
    args = parser.parse_args()
    document = json.loads(DOCUMENT.read_text())
    wanted = {
        PYTHON_OUT: python_client(document),
        TYPESCRIPT_OUT: typescript_schema(),
        TYPESCRIPT_OPERATIONS: typescript_operations(document),
    }
    stale = [path for path, text in wanted.items() if not path.exists() or path.read_text() != text]
    if args.check:
        for path in stale:
            print(f"stale: {path.relative_to(ROOT)} (run `python -m clients.generate`)")
        return 1 if stale else 0
    for path, text in wanted.items():
        path.write_text(text)
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
