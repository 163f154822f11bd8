"""Shared fixtures: the repository root, the CLI binary (built by cargo) and FEBRL4."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def root():
    return ROOT


@pytest.fixture(scope="session")
def cli():
    """The fellegi CLI: $FELLEGI_BIN, else target/release/fellegi under $CARGO_TARGET_DIR or the root."""
    explicit = os.environ.get("FELLEGI_BIN")
    if explicit:
        return explicit
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    path = target / "release" / "fellegi"
    if not path.exists():
        subprocess.run(["cargo", "build", "--release", "--bin", "fellegi"], cwd=ROOT, check=True)
    return str(path)


@pytest.fixture(scope="session")
def febrl4():
    import fellegi

    return fellegi.datasets.load("febrl4")
