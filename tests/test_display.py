"""`workbench.display`: a result finds its view at display time, through the registry the views
layer fills, and shows its plain repr when it has none."""

from __future__ import annotations

import importlib
import sys

import pytest

from workbench import display


class Result:
    """A result with a view of its own (registered below)."""

    def __repr__(self) -> str:
        return "Result()"


class Derived(Result):
    """A subclass, which inherits its base's view."""


class Plain:
    """A result no view is registered for."""

    def __repr__(self) -> str:
        return "Plain()"

    def _repr_html_(self) -> str:
        return "<b>Plain</b>"


class View:
    def __init__(self, result: object, **options: object) -> None:
        self.result, self.options = result, options


display.register(Result, View)


@pytest.fixture
def shown(monkeypatch):
    """What `IPython.display.display` was asked to show: (objects, keyword arguments)."""
    calls: list[tuple[tuple, dict]] = []
    monkeypatch.setattr("IPython.display.display", lambda *objs, **kw: calls.append((objs, kw)))
    return calls


def test_a_result_displays_through_its_registered_view(shown):
    result = Result()
    display.show(result)
    [((view,), kwargs)] = shown
    assert isinstance(view, View) and view.result is result and kwargs == {}
    built = display.view(result, x="time")
    assert isinstance(built, View) and built.options == {"x": "time"}


def test_a_subclass_takes_its_base_view():
    derived = Derived()
    assert display.find(derived) is View and display.view(derived).result is derived


def test_with_no_view_registered_a_result_shows_its_plain_repr(shown):
    display.show(Plain())
    assert shown == [(({"text/plain": "Plain()", "text/html": "<b>Plain</b>"},), {"raw": True})]
    assert display.plain_bundle(Result()) == {"text/plain": "Result()"}
    with pytest.raises(LookupError, match="no view is registered for .*Plain"):
        display.view(Plain())


def test_the_views_module_is_imported_by_name_when_nothing_is_registered(
        tmp_path, monkeypatch, request):
    class Late:
        """A result whose view only the views module registers."""

    (tmp_path / "late_views.py").write_text(
        "from workbench.display import register\n"
        f"register({display.class_path(Late)!r}, lambda result: ('view of', result))\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(display, "VIEWS_MODULE", "late_views")
    request.addfinalizer(lambda: sys.modules.pop("late_views", None))

    late = Late()
    assert display.view(late) == ("view of", late)
    assert "late_views" in sys.modules


def test_every_registered_view_names_a_real_result_class_and_view():
    import workbench.widgets as views

    for path, name in views.VIEWS.items():
        module, _, qualname = path.rpartition(".")
        cls = getattr(importlib.import_module(module), qualname)
        assert display.class_path(cls) == path
        assert callable(getattr(views, name))

