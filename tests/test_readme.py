"""The README's Python examples run as written, in order, in one namespace (as a reader pastes
them), and print what their comments say."""
import contextlib
import io
import pathlib
import re

import pytest

README = pathlib.Path(__file__).resolve().parent.parent / "README.md"


@pytest.mark.usefixtures("host_default_device")
def test_the_readme_python_examples_run_and_print_what_they_say():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert len(blocks) >= 2, "the README's Python examples moved or lost their fences"
    out = io.StringIO()
    namespace = {}
    with contextlib.redirect_stdout(out):
        for block in blocks:
            exec(compile(block, str(README), "exec"), namespace)
    printed = out.getvalue().splitlines()
    # each print(...) line's comment holds what it prints (rounded): check them in order
    said = [line.split("#", 1)[1].strip() for block in blocks for line in block.splitlines()
            if line.startswith("print(") and "#" in line]
    assert len(said) == len(printed)
    assert printed[0] == said[0]                                   # the crop offsets, exactly
    lrs = [float(v) for v in printed[1].strip("[]").split(",")]
    assert [f"{v:.3g}" for v in lrs] == re.findall(r"[\d.e-]+", said[1].split("]")[0])
