"""The analyst notebooks run top to bottom (nbclient) on the small sample, offline."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))
CDN = re.compile(r"https?://(?!127\.0\.0\.1|localhost|www\.w3\.org)[^\s\"'<>]+")


@pytest.fixture(scope="module")
def notebook_env(sample_dir: Path, tmp_path_factory: pytest.TempPathFactory,
                 ) -> dict[str, str]:
    out = tmp_path_factory.mktemp("notebook-out")
    return {"GRIDGOV_SAMPLE_DIR": str(sample_dir), "GRIDGOV_NOTEBOOK_OUT": str(out)}


def _kernel_env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    return {**env, **extra}


def test_there_are_the_six_notebooks() -> None:
    assert [p.stem[:2] for p in NOTEBOOKS] == ["01", "02", "03", "04", "05", "06"]
    for path in NOTEBOOKS:
        book = nbformat.read(path, as_version=4)
        assert all(not c.get("outputs") for c in book.cells if c.cell_type == "code"), (
            f"{path.name} is committed with outputs")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_offline(path: Path, notebook_env: dict[str, str]) -> None:
    book = nbformat.read(path, as_version=4)
    client = NotebookClient(book, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    # the kernel is this interpreter (the project's venv), whatever kernelspecs exist
    client.km = client.kernel_manager_class(kernel_name="python3")
    client.km.kernel_cmd = [sys.executable, "-m", "ipykernel_launcher", "-f",  # type: ignore[attr-defined]
                            "{connection_file}"]
    client.execute(env=_kernel_env(notebook_env))
    outputs = [o for c in book.cells if c.cell_type == "code" for o in c.outputs]
    errors = [o for o in outputs if o.output_type == "error"]
    assert not errors
    assert outputs, "the notebook shows results"
    for html in Path(notebook_env["GRIDGOV_NOTEBOOK_OUT"]).glob("*.html"):
        text = html.read_text(encoding="utf-8")
        assert "L.map(" in text or "leaflet" in text.lower()
        assert not CDN.findall(text.replace("http://www.w3.org", "")), (
            f"{html.name} links outside the machine: {CDN.findall(text)[:3]}")
