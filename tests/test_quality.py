import shutil
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.django_db
def test_models_and_migrations_agree():
    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)


def test_ruff_finds_nothing():
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    assert ruff, "ruff is part of the test stack (requirements.txt)"
    result = subprocess.run([ruff, "check", "--no-cache", "."], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_compiled_translations_are_up_to_date():
    catalogs = [*ROOT.glob("journey/locale/*/LC_MESSAGES/*.po"), *ROOT.glob("shop/locale/*/LC_MESSAGES/*.po")]
    assert catalogs
    for po in catalogs:
        mo = po.with_suffix(".mo")
        assert mo.exists(), f"{mo} is missing: run make messages"
        assert mo.stat().st_mtime >= po.stat().st_mtime - 1, f"{mo} is older than {po}: run make messages"
