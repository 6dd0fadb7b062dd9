"""A static check of the server extension: every HTTP verb method of every class under
workbench/server/ is decorated with ``tornado.web.authenticated``, and every mutating one also
with jupyter_server's ``authorized``. A handler added without them fails `make test`.

Decorators are read from the source (ast), with each module's imports resolved, so an alias
(``from tornado import web as w``) is still recognised and a look-alike name is not."""

from __future__ import annotations

import ast
from pathlib import Path

import workbench.server

SERVER = Path(workbench.server.__file__).parent
VERBS = {"get", "head", "post", "put", "patch", "delete", "options"}
MUTATING = {"post", "put", "patch", "delete"}
AUTHENTICATED = "tornado.web.authenticated"
AUTHORIZED = {"jupyter_server.auth.decorator.authorized", "jupyter_server.auth.authorized"}


def imported_names(tree: ast.Module) -> dict[str, str]:
    """Local name -> the dotted name it was imported as, for the module's imports."""
    names = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                names[alias.asname or alias.name.split(".")[0]] = (
                    alias.name if alias.asname else alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


def dotted(node: ast.expr, names: dict[str, str]) -> str:
    """A decorator expression as the dotted name it refers to (calls by their callee)."""
    if isinstance(node, ast.Call):
        return dotted(node.func, names)
    if isinstance(node, ast.Attribute):
        return f"{dotted(node.value, names)}.{node.attr}"
    if isinstance(node, ast.Name):
        return names.get(node.id, node.id)
    return ast.dump(node)


def verb_methods(root: Path = SERVER) -> list[tuple[str, str, str, set[str]]]:
    """(module, class, verb, its decorators' dotted names) of every verb method under root."""
    found = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        names = imported_names(tree)
        for cls in [n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)]:
            for node in cls.body:
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and \
                        node.name in VERBS:
                    found.append((path.name, cls.name, node.name,
                                  {dotted(d, names) for d in node.decorator_list}))
    return found


def test_every_verb_is_authenticated_and_every_mutating_verb_authorized():
    methods = verb_methods()
    assert len(methods) >= 15, f"the handlers were not found under {SERVER}: {methods}"
    unauthenticated = [f"{m}:{c}.{v}" for m, c, v, decorators in methods
                       if AUTHENTICATED not in decorators]
    unauthorized = [f"{m}:{c}.{v}" for m, c, v, decorators in methods
                    if v in MUTATING and not decorators & AUTHORIZED]
    assert not unauthenticated, f"verbs without @tornado.web.authenticated: {unauthenticated}"
    assert not unauthorized, f"mutating verbs without @authorized: {unauthorized}"


def test_the_check_sees_a_missing_decorator_and_an_alias(tmp_path):
    """The checker itself: a handler without decorators is reported, an aliased import of the
    right decorator is accepted, a local function of the same name is not."""
    (tmp_path / "bad.py").write_text(
        "from tornado import web as w\n"
        "from jupyter_server.auth.decorator import authorized as allowed\n"
        "def authenticated(f):\n    return f\n"
        "class Good:\n"
        "    @w.authenticated\n    @allowed\n    async def post(self): ...\n"
        "class Bad:\n"
        "    @authenticated\n    def get(self): ...\n"
        "    @w.authenticated\n    def delete(self): ...\n")
    found = {(c, v): d for _, c, v, d in verb_methods(tmp_path)}
    assert AUTHENTICATED in found[("Good", "post")] and found[("Good", "post")] & AUTHORIZED
    assert AUTHENTICATED not in found[("Bad", "get")]  # the local look-alike
    assert not found[("Bad", "delete")] & AUTHORIZED
