"""The README's Python examples run as written, in order, in one namespace (as a reader pastes
them), and print what their comments say."""
import contextlib
import io
import pathlib
import re

import pytest

README = pathlib.Path(__file__).resolve().parent.parent / "README.md"


@pytest.mark.usefixtures("host_default_device")
def test_the_readme_python_examples_run_and_print_what_they_say(tmp_path, monkeypatch):
    monkeypatch.setenv("MINIFCN_CACHE", str(tmp_path))   # the synthetic data, made here
    monkeypatch.chdir(tmp_path)                           # and the files the examples save
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert len(blocks) >= 2, "the README's Python examples moved or lost their fences"
    out = io.StringIO()
    namespace = {}
    with contextlib.redirect_stdout(out):
        for block in blocks:
            exec(compile(block, str(README), "exec"), namespace)
    printed = out.getvalue().splitlines()
    # each print(...) line's comment starts with what it prints, then maybe ": why"
    said = [line.split("  # ", 1)[1].strip() for block in blocks for line in block.splitlines()
            if line.startswith("print(") and "  # " in line]
    assert len(said) == len(printed) >= 3
    for shown, comment in zip(printed, said):
        assert comment.startswith(shown), (shown, comment)
    assert any(tmp_path.rglob("*.png")), "the example's dataset was not made where MINIFCN_CACHE says"
    assert (tmp_path / "fcn8s.npz").is_file()
