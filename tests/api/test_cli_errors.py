"""A command's error is printed whole: one line however long, its text as given."""

from __future__ import annotations

import typer
from typer.testing import CliRunner

from api.cli._common import _fail


def test_an_error_naming_a_long_path_is_one_line_with_the_path_as_given() -> None:
    path = "/tmp/" + "/".join(["a-rather-long-folder-name"] * 8) + "/parts/[440304]"
    app = typer.Typer()

    @app.command()
    def broken() -> None:
        raise _fail(f"the province sample lacks its parts: {path}")

    result = CliRunner().invoke(app, [], env={"COLUMNS": "60"})
    assert result.exit_code == 1
    assert result.output.strip() == f"error: the province sample lacks its parts: {path}"
