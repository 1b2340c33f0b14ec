import re
import shutil
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

ROOT = Path(__file__).resolve().parent.parent.parent


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


# One word for the basket: Oscar's English says "basket" everywhere, so journey's (and the demo's) English does too.
TRANSLATED = [
    re.compile(r"""{%\s*(?:translate|trans)\s+(?:"([^"]*)"|'([^']*)')"""),
    re.compile(r"{%\s*blocktrans(?:late)?\b[^%]*%}(.*?){%\s*endblocktrans(?:late)?\s*%}", re.S),
    re.compile(r"""\b(?:gettext|gettext_lazy|gettext_noop|ngettext|ngettext_lazy|pgettext|pgettext_lazy|_)\("""
               r"""(?:\s*"[^"]*"\s*,)?\s*((?:"[^"]*"\s*)+|(?:'[^']*'\s*)+)"""),
]


def translatable_strings(path):
    text = path.read_text(encoding="utf-8")
    for pattern in TRANSLATED:
        for match in pattern.finditer(text):
            yield " ".join(group for group in match.groups() if group)


def test_english_says_basket_never_cart():
    sources = [*ROOT.glob("journey/**/*.py"), *ROOT.glob("journey/templates/**/*.html"),
               *ROOT.glob("journey/templates/**/*.txt"), *ROOT.glob("templates/**/*.html"), *ROOT.glob("shop/*.py")]
    found = [(str(path.relative_to(ROOT)), string) for path in sources if "migrations" not in path.parts
             for string in translatable_strings(path) if re.search(r"\bcarts?\b", string, re.I)]
    assert found == []
    # The extractor does see journey's strings.
    assert any("basket" in s.lower() for s in translatable_strings(ROOT / "journey/recovery/views.py"))

