"""The command-line client needs nothing of the server: not its modules, not its settings."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import mp3converter.client

CLIENT_DIR = Path(mp3converter.client.__file__).parent
SERVER_SIDE = ("mp3converter.config", "mp3converter.roles", "mp3converter.adapters",
               "mp3converter.domain", "mp3converter.api", "mp3converter.usecases",
               "mp3converter.web", "pydantic", "pydantic_settings", "fastapi", "pymongo")  # fmt: skip


def _imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_client_modules_import_only_the_client_and_the_package_version() -> None:
    modules = sorted(CLIENT_DIR.glob("*.py"))
    assert len(modules) > 5
    for module in modules:
        ours = {name for name in _imported_modules(module) if name.startswith("mp3converter")}
        assert ours <= {"mp3converter"} | {
            name for name in ours if name.startswith("mp3converter.client")
        }, module.name


def test_a_client_command_loads_no_server_module_and_reads_no_server_setting(
    tmp_path: Path,
) -> None:
    probe = (
        "import json, sys\n"
        "from mp3converter.cli import main\n"
        "code = main(['convert', 'missing.mp4'])\n"
        "print(json.dumps({'code': code, 'modules': sorted(sys.modules)}))\n"
    )
    # A setting the server would refuse: a client command must not even look at it.
    env = {"MP3CONVERTER_CONFIG_DIR": str(tmp_path), "ENVIRONMENT": "production", "PATH": ""}
    done = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["code"] == 1
    assert "not logged in" in done.stderr
    loaded = [m for m in report["modules"] if m.split(".")[0] in ("mp3converter", *SERVER_SIDE)]
    assert "mp3converter.client.convert_command" in loaded
    assert not [m for m in loaded if m.startswith(SERVER_SIDE)], loaded
