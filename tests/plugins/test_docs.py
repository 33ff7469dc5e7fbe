"""docs/plugins.md: every Python example runs, in order, in one module."""

from __future__ import annotations

import re
import sys
import tomllib
import types
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"
_BLOCK = re.compile(r"^```(\w+)\n(.*?)^```", re.S | re.M)


def _blocks(language: str) -> list[str]:
    return [body for lang, body in _BLOCK.findall(DOC.read_text()) if lang == language]


def test_plugin_guide_python_examples_run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    blocks = _blocks("python")
    assert len(blocks) >= 8
    module = types.ModuleType("sessiond_plugin_guide")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.chdir(tmp_path)
    for number, block in enumerate(blocks, start=1):
        code = compile(block, f"{DOC.name} python block {number}", "exec")
        exec(code, module.__dict__)
    # the examples really did something: the last one read two bars from a file
    assert len(module.rows) == 2
    assert isinstance(module.source, module.ConstantSource)


def test_plugin_guide_pyproject_example_declares_the_sessiond_entry_point() -> None:
    (block,) = _blocks("toml")
    project = tomllib.loads(block)
    assert project["project"]["entry-points"]["sessiond"] == {
        "constant": "sessiond_constant.plugin"
    }


def test_plugin_guide_lists_every_hook() -> None:
    from plugins import hookspecs

    text = DOC.read_text()
    names = [n for n in dir(hookspecs) if hasattr(getattr(hookspecs, n), "sessiond_spec")]
    assert names and all(f"`{name}(" in text for name in names)


def test_plugin_guide_documents_every_option_of_the_conformance_kit() -> None:
    import inspect

    from plugins import testing

    text = DOC.read_text()
    for function_name in testing.__all__:
        function = getattr(testing, function_name)
        assert f"`{function_name}(" in text, function_name
        for parameter in inspect.signature(function).parameters.values():
            if parameter.kind is inspect.Parameter.KEYWORD_ONLY:
                # named in the signature line and used as an option in an executed example
                assert f"{parameter.name}=" in text, (function_name, parameter.name)
