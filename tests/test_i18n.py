"""English and French: every message in the French catalog, the shipped .mo up to date, the
language chosen by --lang / ELP_LANG / LANG, and the app and the CLI actually speaking French."""

from __future__ import annotations

import gettext
import io
import string
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from elp_tui import i18n
from elp_tui.app import make_app
from elp_tui.cli import main
from elp_tui.i18n import _, detect_language, set_language
from elp_tui.portal import RuleViolation
from elp_tui.screens.dialogs.form import FormDialog
from elp_tui.screens.licenses import LicensesPage
from elp_tui.screens.main import Sidebar
from tests.conftest import ADMIN, TODAY
from tests.helpers import store_bytes, until

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "elp_tui"
PO = PACKAGE / "locale" / "fr" / "LC_MESSAGES" / "elp.po"
MO = PO.with_suffix(".mo")
# The keywords of `make i18n` (pybabel extract -k _ -k N_ -k ngettext:1,2), on top of babel's defaults.
KEYWORDS = {**DEFAULT_KEYWORDS, "_": None, "N_": None, "NC_": ((1, "c"), 2), "ngettext": (1, 2)}
ANA = "ana@lf.io"


def extracted() -> dict[tuple[str | tuple[str, ...], str | None], str]:
    """Every message id in the code (with its context, if any), with where it was found."""
    found: dict[tuple[str | tuple[str, ...], str | None], str] = {}
    for filename, lineno, message, _comments, context in extract_from_dir(
        str(PACKAGE), method_map=[("**.py", "python")], keywords=KEYWORDS
    ):
        found.setdefault((message, context), f"{filename}:{lineno}")
    return found


def catalog():
    with PO.open("rb") as f:
        return read_po(f, locale="fr")


def placeholders(text: str) -> list[tuple[str, str, str]]:
    """The {fields} of a format string, with their conversion and format spec."""
    return sorted((name, conv or "", spec or "") for _lit, name, spec, conv in string.Formatter().parse(text) if name is not None)


# -- (a) every message is translated, placeholders kept ---------------------------------------------
def test_every_extracted_message_has_a_french_translation_with_the_same_placeholders():
    cat = catalog()
    problems = []
    for (msgid, context), where in sorted(extracted().items(), key=lambda kv: str(kv[0])):
        entry = cat.get(msgid, context=context)
        if entry is None:
            problems.append(f"{where}: {msgid!r} is not in the French catalog (run `make i18n`)")
            continue
        if entry.fuzzy:
            problems.append(f"{where}: {msgid!r} is fuzzy")
        ids = msgid if isinstance(msgid, tuple) else (msgid,)
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        if not all(s for s in strings):
            problems.append(f"{where}: {msgid!r} has no French text")
            continue
        # French plural: form 0 for 0 and 1 (the English singular), form 1 for more.
        for english, french in zip(ids + ids[-1:] * (len(strings) - len(ids)), strings):
            if placeholders(english) != placeholders(french):
                problems.append(f"{where}: {french!r} does not keep the placeholders of {english!r}")
    assert not problems, "\n".join(problems)


def test_catalog_has_no_fuzzy_entry():
    cat = catalog()
    assert not cat.fuzzy
    assert not [m.id for m in cat if m.id and m.fuzzy]


# -- (b) the committed .mo is the .po compiled ------------------------------------------------------
def test_committed_mo_is_up_to_date_with_the_po():
    compiled = io.BytesIO()
    write_mo(compiled, catalog())
    fresh = gettext.GNUTranslations(io.BytesIO(compiled.getvalue()))
    shipped = gettext.GNUTranslations(io.BytesIO(MO.read_bytes()))
    assert shipped._catalog == fresh._catalog, "elp.mo is stale: run `make i18n` and commit elp.mo"  # type: ignore[attr-defined]


# -- (c) which language ------------------------------------------------------------------------------
def test_lang_option_wins_over_the_environment(monkeypatch):
    monkeypatch.setenv("ELP_LANG", "en")
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    assert detect_language("fr") == "fr"
    monkeypatch.setenv("ELP_LANG", "fr")
    monkeypatch.setenv("LANG", "fr_FR.UTF-8")
    assert detect_language("en") == "en"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"ELP_LANG": "fr"}, "fr"),
        ({"ELP_LANG": "fr", "LANG": "en_GB.UTF-8"}, "fr"),  # ELP_LANG before the locale
        ({"LANG": "fr_FR.UTF-8"}, "fr"),
        ({"LANG": "fr_CA"}, "fr"),
        ({"LC_ALL": "fr_FR.UTF-8", "LANG": "C"}, "fr"),
        ({"LANGUAGE": "fr:en"}, "fr"),
        ({"LANG": "C"}, "en"),
        ({"LANG": "C.UTF-8"}, "en"),
        ({"LANG": "POSIX"}, "en"),
        ({"LANG": "de_DE.UTF-8"}, "en"),  # no German catalog: English
        ({}, "en"),
    ],
)
def test_language_from_the_environment(monkeypatch, env, expected):
    monkeypatch.delenv("LANG")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert detect_language(None) == expected


def test_unknown_lang_option_is_a_clear_error():
    with pytest.raises(ValueError, match=r"'de' is not available: use one of en, fr"):
        detect_language("de")


def test_unknown_lang_on_the_command_line_is_refused(capsys):
    assert main(["--lang", "de", "banks", "list"]) == 2
    err = capsys.readouterr().err
    assert "--lang" in err and "'fr'" in err


def test_set_language_switches_the_translation_both_ways():
    set_language("fr")
    assert i18n.language() == "fr" and _("Manage Banks") == "Gérer les banques"
    set_language("en")
    assert i18n.language() == "en" and _("Manage Banks") == "Manage Banks"


# -- (d) the app in French, then in English again --------------------------------------------------
def sidebar_text(app) -> str:
    sidebar = app.screen.query_one(Sidebar)
    return "\n".join(str(sidebar.get_option_at_index(i).prompt) for i in range(sidebar.option_count))


async def test_app_in_french_then_english_again(portal, bank, tmp_path):
    settings = tmp_path / "settings.json"
    app = make_app(portal.store, ADMIN, clock=TODAY, lang="fr", settings_file=settings)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        shown = sidebar_text(app)
        for title in ("Mes licences attribuées", "Tableau de bord", "Gérer les banques", "Gérer les licences",
                      "Versions de produit", "Utilisateurs", "Équipes", "Activité"):
            assert title in shown
        assert "GÉRER L'ESPACE DE TRAVAIL" in shown and "GÉRER L'ORGANISATION" in shown
        assert "Manage" not in shown

        # A portal refusal, in French: 200 node-lock licenses x 6 months from a bank of 100 credits.
        number = [p.PAGE_ID for p in app.allowed_pages()].index("licenses") + 1
        await pilot.press(str(number))
        page = app.screen.query_one(LicensesPage)
        await until(pilot, lambda: page._fetched and page.display, "licenses loaded")
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, FormDialog), "form")
        await pilot.press("tab", "tab", "tab", "ctrl+u", *"200", "tab", "tab", *ANA, "ctrl+s")
        form = app.screen  # the refusal is said beside the quantity, the form open
        await until(pilot, lambda: "il en manque" in " ".join(form.shown_error("quantity").split()), "French refusal")
        with pytest.raises(RuleViolation) as refusal:  # the very message the portal gives, in French
            portal.quote_generate(ADMIN, bank=bank["id"], type="node-lock", months=6, quantity=200, start=TODAY, email=ANA)
        said = " ".join(form.shown_error("quantity").split())
        assert " ".join(str(refusal.value).split()) == said
        assert str(refusal.value).startswith("Il reste 100 crédits dans la banque")
        assert "short" not in said
        await pilot.press("escape")
        await pilot.pause()

    again = make_app(portal.store, ADMIN, clock=TODAY, lang="en", settings_file=settings)
    async with again.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        shown = sidebar_text(again)
        assert "Manage Banks" in shown and "My Assigned Licenses" in shown and "Dashboard" in shown
        assert "Gérer" not in shown
    with pytest.raises(RuleViolation, match="short"):
        portal.quote_generate(ADMIN, bank=bank["id"], type="node-lock", months=6, quantity=200, start=TODAY, email=ANA)


def test_quote_lines_are_translated_and_dates_stay_iso(portal, bank):
    set_language("fr")
    quote = portal.quote_generate(ADMIN, bank=bank["id"], type="multiseat", months=12, quantity=2, start=TODAY, email=ANA)
    rows = dict(quote.lines())
    assert rows["Expire le"].startswith("2027-05-01 (limitée par l'expiration de la banque")  # cut by the bank
    assert rows["Début"] == TODAY.isoformat()
    assert rows["Destinataire"] == f"{ANA} (sera invité)"
    assert rows["Crédits à déduire"] == "12 (2 ordinateur(s) x 6 mois)"


# -- (e) the command line in French ------------------------------------------------------------------
def generate_too_many(store_path, bank_id: str, *lang: str) -> list[str]:
    return ["--store", str(store_path), "--as", ADMIN, *lang, "licenses", "generate", "--bank", bank_id,
            "--type", "node-lock", "--months", "6", "--quantity", "200", "--start", TODAY.isoformat(),
            "--email", ANA, "--yes"]


@pytest.fixture
def cli_today(monkeypatch):
    monkeypatch.setenv("ELP_TODAY", TODAY.isoformat())


def test_cli_refusal_in_french_with_lang_fr(store_path, bank, cli_today, capsys):
    before = store_bytes(store_path)
    assert main(generate_too_many(store_path, bank["id"], "--lang", "fr")) == 1
    err = capsys.readouterr().err
    assert err.startswith("elp: Il reste 100 crédits dans la banque BK-0001 ; il en faut 1200"), err
    assert "il en manque 1100" in err and "short" not in err
    assert store_bytes(store_path) == before


def test_cli_follows_a_french_locale_and_stays_english_otherwise(store_path, bank, cli_today, monkeypatch, capsys):
    monkeypatch.setenv("LANG", "fr_FR.UTF-8")
    assert main(generate_too_many(store_path, bank["id"])) == 1
    assert "il en manque" in capsys.readouterr().err
    monkeypatch.setenv("LANG", "C.UTF-8")
    assert main(generate_too_many(store_path, bank["id"])) == 1
    assert "1100 short" in capsys.readouterr().err


def test_cli_json_and_csv_stay_untranslated(store_path, bank, cli_today, capsys):
    common = ["--store", str(store_path), "--as", ADMIN, "--lang", "fr"]
    assert main([*common, "licenses", "generate", "--bank", bank["id"], "--type", "node-lock", "--months", "1",
                 "--quantity", "1", "--start", TODAY.isoformat(), "--email", ADMIN, "--yes"]) == 0
    capsys.readouterr()
    assert main([*common, "licenses", "list", "--json"]) == 0
    out = capsys.readouterr().out
    assert '"status": "active"' in out.replace('":"', '": "') and '"type": "node-lock"' in out.replace('":"', '": "')
    assert main([*common, "licenses", "export"]) == 0
    assert capsys.readouterr().out.startswith("activation_id,product,type,computers,assignee,start,expires_on,status")


# -- (f) French written as French: the library's English stays out, numbers grouped the French way --------
@pytest.mark.parametrize("typed", ["ana.studio.com", "@studio.com", "ana@", "ana@studio", "ana..b@studio.com"])
def test_a_french_email_refusal_is_french_throughout(typed):
    from elp_tui.portal.inputs import normalise_email
    from elp_tui.portal import InvalidInput

    set_language("fr")
    with pytest.raises(InvalidInput) as refused:
        normalise_email(typed)
    french = str(refused.value)
    assert "n'est pas une adresse courriel valide" in french
    for english in ("@-sign", "must", "There ", "The part", "cannot", "period"):
        assert english not in french, french
    set_language("en")
    with pytest.raises(InvalidInput) as refused:
        normalise_email(typed)
    english = str(refused.value)
    assert "is not a valid email address" in english
    reason = english.split("valid email address: ", 1)[1].split(" Type it as", 1)[0]
    assert reason and reason not in french, f"the reason was left in English: {french}"


def test_numbers_are_grouped_as_the_language_writes_them():
    from elp_tui.portal.inputs import MAX_COUNT, positive_int
    from elp_tui.portal import InvalidInput

    set_language("fr")
    with pytest.raises(InvalidInput) as refused:
        positive_int("0", "La quantité")
    assert "1\u202f000\u202f000\u202f000" in str(refused.value) and "1,000" not in str(refused.value)
    set_language("en")
    with pytest.raises(InvalidInput) as refused:
        positive_int("0", "The quantity")
    assert MAX_COUNT == 1_000_000_000 and "1,000,000,000" in str(refused.value)


def test_french_puts_a_space_before_the_colon_and_other_double_marks():
    """French typography: a space (no-break, so the mark never starts a line) before : ; ! ? in
    every French message; placeholders, times and addresses are not punctuation."""
    wrong = []
    for message in catalog():
        if not message.id or not message.string:
            continue
        for text in (message.string if isinstance(message.string, tuple) else (message.string,)):
            prose = string.Formatter()
            stripped = "".join(lit for lit, *_rest in prose.parse(text.replace("{{", "(").replace("}}", ")")))
            for i, ch in enumerate(stripped):
                if ch in ":;!?" and i > 0 and stripped[i - 1] not in " \u00a0\u202f" and stripped[i - 1].isalnum():
                    after = stripped[i + 1:i + 3]
                    word = stripped[:i].split()[-1] if stripped[:i].split() else ""
                    if ch == ":" and (after.startswith("//") or after[:1].isdigit() or word.isupper()
                                      or "://" in word or word.startswith("'")):
                        continue  # https://, 12:30, SHA256:, http://HOST:PORT, 'Authorization: Bearer ...' (code)
                    wrong.append(text)
                    break
    assert not wrong, f"{len(wrong)} French messages lack the space before a double mark, e.g. {wrong[:5]}"


def test_french_uses_one_word_for_assign_and_one_for_computers():
    """The vendor's guide says "attribuer" a license and "ordinateurs"; never "assigner", "machines" or "postes"."""
    import re

    def words(text: object) -> str:  # the prose, without its {placeholders}
        return re.sub(r"\{[^}]*\}", "", str(text)).lower()

    wrong = [m.string for m in catalog() if m.id and m.string
             and any(w in words(m.string) for w in ("assign", "machine", "poste de travail", "postes"))]
    assert not wrong, wrong[:5]


def test_a_license_status_agrees_with_the_license_a_user_status_with_the_user():
    from elp_tui.portal.credits import LICENSE_STATUS_NAMES
    from elp_tui.portal.quotes import STATUS_WORDS

    set_language("fr")
    assert _(LICENSE_STATUS_NAMES["returned"]) == _("(returned)").strip("()") == "retournée"
    assert _(LICENSE_STATUS_NAMES["expired"]) == "expirée"
    assert _(LICENSE_STATUS_NAMES["active"]) == "active"
    assert _(STATUS_WORDS["active"]) == "actif"  # un utilisateur actif
    set_language("en")
    assert _(LICENSE_STATUS_NAMES["returned"]) == "returned" and _(STATUS_WORDS["active"]) == "active"
