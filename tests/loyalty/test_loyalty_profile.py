"""The customer profile: account page, validation, consent records, staff admin and CSV import."""

from datetime import date, datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone, translation

from journey.core.models import Message, Suppression
from journey.exceptions import ProfileImportError
from journey.loyalty.profiles.importer import import_profiles
from journey.loyalty.profiles.models import CustomerProfile
from journey.loyalty.profiles.services import consent_wording, update_profile, validate_birthday

pytestmark = pytest.mark.django_db
URL = "/journey/account/profile/"


@pytest.fixture
def shopper(django_user_model):
    return django_user_model.objects.create_user(username="ana", email="ana@example.com", password="pw-ana-1")


@pytest.fixture
def signed_in(client, shopper):
    client.force_login(shopper)
    return client


def post(client, **data):
    form = {"birth_day": "", "birth_month": "", "birth_year": "", "marketing_consent": "", "language": ""}
    return client.post(URL, {**form, **{k: str(v) for k, v in data.items()}})


# Validation --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("month", "day", "year"), [(2, 30, None), (4, 31, None), (13, 1, None), (0, 5, None),
                                                    (2, 29, 2023), (6, 0, None), (5, 10, 1850), (5, 10, 2999)])
def test_impossible_or_implausible_birthdays_are_refused(month, day, year):
    with pytest.raises(ValidationError):
        validate_birthday(month, day, year, today=date(2026, 6, 1))


@pytest.mark.parametrize(("month", "day", "year"), [(2, 29, None), (2, 29, 2024), (12, 31, 1990), (6, 1, 2026),
                                                    (None, None, None)])
def test_real_birthdays_are_accepted_including_feb_29(month, day, year):
    validate_birthday(month, day, year, today=date(2026, 6, 1))


def test_a_year_alone_or_a_day_without_month_is_refused():
    with pytest.raises(ValidationError):
        validate_birthday(None, None, 1990)
    with pytest.raises(ValidationError):
        validate_birthday(None, 5)


# The account page --------------------------------------------------------------------------------------------
def test_the_account_page_requires_login(client):
    response = client.get(URL)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert post(client, birth_day=10, birth_month=5).status_code == 302
    assert not CustomerProfile.objects.exists()


def test_the_account_menu_links_to_the_profile_page(signed_in):
    page = signed_in.get(reverse("customer:profile-view")).content.decode()
    assert URL in page and "Birthday and preferences" in page


def test_the_account_page_saves_birthday_consent_and_language_with_the_wording_and_time(signed_in, shopper):
    page = signed_in.get(URL)
    assert page.status_code == 200 and consent_wording() in page.content.decode()
    before = timezone.now()
    response = post(signed_in, birth_day=29, birth_month=2, marketing_consent="granted", language="es")
    assert response.status_code == 302 and response["Location"] == URL
    profile = CustomerProfile.objects.get(user=shopper)
    assert (profile.birth_month, profile.birth_day, profile.birth_year) == (2, 29, None)
    assert profile.birthday_changed_at >= before
    assert (profile.marketing_consent, profile.consent_source, profile.language) == ("granted", "account page", "es")
    assert profile.consent_text == consent_wording() and profile.consent_changed_at >= before
    assert "Your preferences are saved." in signed_in.get(URL).content.decode()


@pytest.mark.parametrize(("day", "month", "year", "message"), [
    (30, 2, "", "February has no day 30."),
    (31, 4, "", "April has no day 31."),
    (29, 2, "2023", "2023 had no 29 February."),
    (10, "", "", "Give both the day and the month"),
    (10, 5, "1700", "Ensure this value is greater than or equal to 1900."),
])
def test_the_form_shows_an_error_for_impossible_dates_and_saves_nothing(signed_in, shopper, day, month, year,
                                                                       message):
    response = post(signed_in, birth_day=day, birth_month=month, birth_year=year, marketing_consent="granted")
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not CustomerProfile.objects.filter(user=shopper).exists()


def test_the_form_rejects_a_month_13_sent_by_hand(signed_in):
    response = post(signed_in, birth_day=1, birth_month=13)
    assert response.status_code == 400 and "Select a valid choice" in response.content.decode()


def test_saving_the_same_birthday_again_keeps_its_timestamp(signed_in, shopper):
    post(signed_in, birth_day=10, birth_month=5)
    first = CustomerProfile.objects.get(user=shopper).birthday_changed_at
    post(signed_in, birth_day=10, birth_month=5, birth_year=1990)
    profile = CustomerProfile.objects.get(user=shopper)
    assert profile.birthday_changed_at == first and profile.birth_year == 1990
    post(signed_in, birth_day=11, birth_month=5, birth_year=1990)
    assert CustomerProfile.objects.get(user=shopper).birthday_changed_at > first


def test_leaving_the_consent_question_unanswered_records_nothing(signed_in, shopper):
    post(signed_in, birth_day=10, birth_month=5)
    profile = CustomerProfile.objects.get(user=shopper)
    assert profile.marketing_consent == "" and profile.consent_changed_at is None


def test_withdrawing_consent_records_it_and_cancels_scheduled_marketing_mail(signed_in, shopper):
    from journey.core import outbox
    from journey.loyalty.birthdays import mail  # noqa: F401  (registers the birthday kind)

    post(signed_in, marketing_consent="granted")
    outbox.schedule(kind="loyalty.birthday", subject_key="birthday:x", step=0, to_email=shopper.email,
                    due_at=timezone.now() + timedelta(hours=1), user=shopper)
    post(signed_in, marketing_consent="withdrawn")
    profile = CustomerProfile.objects.get(user=shopper)
    assert profile.marketing_consent == "withdrawn" and profile.consent_source == "account page"
    assert Message.objects.get().state == Message.State.CANCELLED


def test_opting_in_again_lifts_an_earlier_unsubscribe_but_not_a_bounce(signed_in, shopper, django_user_model):
    Suppression.objects.create(email="ana@example.com", reason=Suppression.Reason.UNSUBSCRIBED)
    post(signed_in, marketing_consent="granted")
    assert not Suppression.objects.exists()
    bounced = django_user_model.objects.create_user(username="bo", email="bo@example.com")
    Suppression.objects.create(email="bo@example.com", reason=Suppression.Reason.HARD_BOUNCE)
    update_profile(bounced, consent="granted", wording="yes", source="test")
    assert Suppression.objects.filter(email="bo@example.com").exists()


def test_an_unknown_language_is_refused(signed_in):
    assert post(signed_in, language="xx").status_code == 400


# Unsubscribing from a journey mail -----------------------------------------------------------------------------
def sent_mail(to_email, user=None):
    now = timezone.now()
    return Message.objects.create(tool="winback", kind="winback", subject_key=f"winback:{to_email}", step=1,
                                  to_email=to_email, user=user, due_at=now, sent_at=now, state=Message.State.SENT)


def unsubscribe_link(message):
    from journey.core import outbox

    return reverse("journey:unsubscribe", args=[outbox.unsubscribe_token(message)])


def test_unsubscribing_through_a_mail_link_withdraws_the_customers_marketing_consent(client, shopper,
                                                                                      django_user_model):
    update_profile(shopper, consent="granted", wording="yes", source="account page")
    ben = django_user_model.objects.create_user(username="ben", email="ben@example.com")
    update_profile(ben, consent="granted", wording="yes", source="account page")
    link = unsubscribe_link(sent_mail("ana@example.com", shopper))

    assert client.get(link).status_code == 200  # the confirmation page changes nothing
    assert CustomerProfile.objects.get(user=shopper).marketing_consent == "granted"
    before = timezone.now()
    assert client.post(link).status_code == 200

    profile = CustomerProfile.objects.get(user=shopper)
    assert (profile.marketing_consent, profile.consent_source) == ("withdrawn", "unsubscribe link")
    assert profile.consent_changed_at >= before
    assert "no more reminders or offers" in profile.consent_text
    assert CustomerProfile.objects.get(user=ben).marketing_consent == "granted"
    assert client.post(link).status_code == 200  # again: nothing changes, the first withdrawal's time is kept
    assert CustomerProfile.objects.get(user=shopper).consent_changed_at == profile.consent_changed_at


def test_unsubscribing_matches_the_account_by_address_whatever_its_case(client, django_user_model):
    ana = django_user_model.objects.create_user(username="ana2", email="Ana.Lopez@Example.com")
    update_profile(ana, consent="granted", wording="yes", source="registration")
    client.post(unsubscribe_link(sent_mail("ana.lopez@example.com")))  # a mail to the address, not the account
    assert CustomerProfile.objects.get(user=ana).marketing_consent == "withdrawn"


def test_an_unsubscribe_creates_no_profile_for_accounts_or_guests_without_one(client, shopper):
    client.post(unsubscribe_link(sent_mail("ana@example.com", shopper)))
    client.post(unsubscribe_link(sent_mail("guest@example.com")))
    assert Suppression.objects.count() == 2
    assert not CustomerProfile.objects.exists()


def test_an_esp_reported_unsubscribe_withdraws_consent_and_a_bounce_does_not(shopper, django_user_model):
    from anymail.signals import AnymailTrackingEvent

    from journey.core import suppression
    from journey.core.tracking import apply_event

    update_profile(shopper, consent="granted", wording="yes", source="account page")
    bounced = django_user_model.objects.create_user(username="bo", email="bo@example.com")
    update_profile(bounced, consent="granted", wording="yes", source="account page")
    suppression.suppress("bo@example.com", Suppression.Reason.HARD_BOUNCE, note="test bounced")
    assert CustomerProfile.objects.get(user=bounced).marketing_consent == "granted"

    message = sent_mail("ana@example.com", shopper)
    apply_event(AnymailTrackingEvent(event_type="unsubscribed", message_id="esp-1", event_id="u-1",
                                     recipient="ana@example.com", timestamp=timezone.now(),
                                     metadata={"journey_message_id": message.pk}), "mailgun")
    profile = CustomerProfile.objects.get(user=shopper)
    assert profile.marketing_consent == "withdrawn"
    assert profile.consent_source == "unsubscribe link (mailgun unsubscribed)"


def test_staff_adding_an_unsubscribed_address_records_it_as_from_the_suppression_list(shopper):
    from journey.core import suppression

    update_profile(shopper, consent="granted", wording="yes", source="account page")
    suppression.suppress("ana@example.com", Suppression.Reason.UNSUBSCRIBED, note="asked by phone")
    profile = CustomerProfile.objects.get(user=shopper)
    assert (profile.marketing_consent, profile.consent_source) == ("withdrawn", "suppression list")


# Admin -------------------------------------------------------------------------------------------------------
@pytest.fixture
def admin_client(client, django_user_model):
    boss = django_user_model.objects.create_superuser(username="boss", email="boss@example.com", password="pw")
    client.force_login(boss)
    return client


def test_staff_edit_a_profile_in_admin_and_the_change_is_recorded(admin_client, shopper):
    profile = CustomerProfile.objects.create(user=shopper)
    url = reverse("admin:journey_customerprofile_change", args=[profile.pk])
    assert admin_client.get(url).status_code == 200
    data = {"birth_day": "30", "birth_month": "2", "birth_year": "", "marketing_consent": "granted",
            "consent_text": "", "language": ""}
    response = admin_client.post(url, data)
    assert response.status_code == 200 and "February has no day 30." in response.content.decode()
    response = admin_client.post(url, {**data, "birth_day": "28", "consent_text": "Yes to offers (by phone)"})
    assert response.status_code == 302
    profile.refresh_from_db()
    assert (profile.birth_month, profile.birth_day) == (2, 28) and profile.birthday_changed_at is not None
    assert (profile.marketing_consent, profile.consent_text, profile.consent_source) == (
        "granted", "Yes to offers (by phone)", "admin (boss)")


def test_staff_cannot_set_consent_back_to_not_asked(admin_client, shopper):
    profile, _ = update_profile(shopper, consent="granted", wording="w", source="s")
    url = reverse("admin:journey_customerprofile_change", args=[profile.pk])
    response = admin_client.post(url, {"birth_day": "", "birth_month": "", "birth_year": "", "marketing_consent": "",
                                       "consent_text": "w", "language": ""})
    assert response.status_code == 200 and "not set back" in response.content.decode()


def test_the_birthday_program_admin_is_one_form(admin_client):
    response = admin_client.get(reverse("admin:journey_birthdayprogram_changelist"))
    assert response.status_code == 302
    page = admin_client.get(response["Location"])
    assert page.status_code == 200 and "days before the birthday" in page.content.decode().lower()
    response = admin_client.post(response["Location"], {
        "is_active": "on", "lead_days": "7", "discount_kind": "percentage", "discount_value": "150",
        "valid_days": "30", "min_basket": "0", "template": "journey/mail/birthday"})
    assert response.status_code == 200 and "at most 100" in response.content.decode()
    response = admin_client.post(page.wsgi_request.path, {
        "is_active": "on", "lead_days": "7", "discount_kind": "fixed", "discount_value": "5",
        "valid_days": "30", "min_basket": "20", "template": "journey/mail/nope"})
    assert response.status_code == 200 and "cannot be loaded" in response.content.decode()
    assert admin_client.get(reverse("admin:journey_birthdayreward_changelist")).status_code == 200


# CSV import --------------------------------------------------------------------------------------------------
@pytest.fixture
def customers(django_user_model):
    for name in ("ana", "ben", "cai", "dan"):
        django_user_model.objects.create_user(username=name, email=f"{name.title()}@Example.com")
    django_user_model.objects.create_user(username="twin1", email="twin@example.com")
    django_user_model.objects.create_user(username="twin2", email="TWIN@example.com")


CSV = """Email;Birthday;Marketing consent;consent_at;consent_text;language;shoe_size
ana@example.com;1990-05-10;yes;2025-01-02 10:00;Send me offers;es;42
ben@example.com;02-29;no;;;;
nobody@example.com;05-10;yes;;;;
cai@example.com;02-30;yes;;;;
dan@example.com;;maybe;;;;
twin@example.com;05-10;;;;;
ana@example.com;2023-02-29;;;;;
;05-10;;;;;
dan@example.com;12-24;;;;klingon;
"""


def test_csv_import_keeps_good_rows_and_reports_each_rejected_row_with_its_reason(customers):
    report = import_profiles(CSV)
    assert report.summary() == "9 rows: 2 created, 0 updated, 0 unchanged, 7 rejected"
    reasons = {row.line: "; ".join(row.errors) for row in report.rejected}
    assert "unknown email 'nobody@example.com'" in reasons[4]
    assert "impossible birthday: February has no day 30." in reasons[5]
    assert "bad consent value 'maybe'" in reasons[6]
    assert "2 customer accounts have the email" in reasons[7]
    assert "2023 had no 29 February" in reasons[8]
    assert reasons[9] == "no email"
    assert "unknown language 'klingon'" in reasons[10]
    assert report.warnings == ["Ignored unknown columns: shoe_size"]
    ana = CustomerProfile.objects.get(user__username="ana")
    assert (ana.birth_month, ana.birth_day, ana.birth_year, ana.language) == (5, 10, 1990, "es")
    assert (ana.marketing_consent, ana.consent_text, ana.consent_source) == ("granted", "Send me offers", "import")
    assert ana.consent_changed_at == datetime(2025, 1, 2, 10, tzinfo=ZoneInfo(timezone.get_current_timezone_name()))
    ben = CustomerProfile.objects.get(user__username="ben")
    assert (ben.birth_month, ben.birth_day, ben.marketing_consent) == (2, 29, "withdrawn")
    assert not CustomerProfile.objects.filter(user__username__in=["cai", "dan"]).exists()


def test_importing_the_same_file_again_changes_nothing_and_a_changed_file_updates(customers):
    import_profiles(CSV)
    stamps = list(CustomerProfile.objects.order_by("pk").values_list("birthday_changed_at", "consent_changed_at"))
    again = import_profiles(CSV)
    assert (again.count("unchanged"), again.count("created"), again.count("updated")) == (2, 0, 0)
    assert list(CustomerProfile.objects.order_by("pk").values_list("birthday_changed_at",
                                                                   "consent_changed_at")) == stamps
    changed = import_profiles("email,birthday\nana@example.com,1990-05-11\n")
    assert changed.count("updated") == 1
    assert CustomerProfile.objects.get(user__username="ana").birth_day == 11


def test_imported_birthdays_can_say_when_the_customer_gave_them(customers):
    import_profiles("email,birth_day,birth_month,birthday_entered_at\nana@example.com,10,5,2020-03-01\n")
    assert CustomerProfile.objects.get(user__username="ana").birthday_changed_at.date() == date(2020, 3, 1)


def test_a_file_without_an_email_column_is_refused():
    with pytest.raises(ProfileImportError):
        import_profiles("name,birthday\nAna,05-10\n")


def test_the_import_command_prints_the_report_and_a_dry_run_saves_nothing(customers, tmp_path):
    path = tmp_path / "profiles.csv"
    path.write_text(CSV, encoding="utf-8-sig")
    out = StringIO()
    call_command("journey_import_profiles", str(path), "--dry-run", stdout=out)
    assert "line 5: cai@example.com: rejected: impossible birthday" in out.getvalue()
    assert "dry run" in out.getvalue() and not CustomerProfile.objects.exists()
    out = StringIO()
    call_command("journey_import_profiles", str(path), stdout=out)
    assert "2 created" in out.getvalue() and CustomerProfile.objects.count() == 2
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("journey_import_profiles", str(tmp_path / "missing.csv"))
    (tmp_path / "bad.csv").write_text("name\nx\n")
    with pytest.raises(CommandError, match="no 'email' column"):
        call_command("journey_import_profiles", str(tmp_path / "bad.csv"))


def test_the_admin_upload_page_imports_and_shows_the_rejected_rows(admin_client, customers):
    url = reverse("admin:journey_customerprofile_import")
    changelist = admin_client.get(reverse("admin:journey_customerprofile_changelist")).content.decode()
    assert url in changelist
    assert admin_client.get(url).status_code == 200
    upload = SimpleUploadedFile("profiles.csv", CSV.encode("cp1252"), content_type="text/csv")
    page = admin_client.post(url, {"file": upload}).content.decode()
    assert "2 created" in page and "journey-import-report" in page and "unknown email" in page
    assert CustomerProfile.objects.get(user__username="ana").consent_source.startswith("admin import (boss)")
    response = admin_client.post(url, {"file": SimpleUploadedFile("x.csv", b"name\nx\n")})
    assert response.status_code == 400 and "no &#x27;email&#x27; column" in response.content.decode()


# Bad import input: a clear message per row or per file, never a traceback ------------------------------------
def run_command(tmp_path, raw: bytes):
    path = tmp_path / "profiles.csv"
    path.write_bytes(raw)
    out = StringIO()
    call_command("journey_import_profiles", str(path), stdout=out)
    return out.getvalue()


def upload(admin_client, raw: bytes):
    response = admin_client.post(reverse("admin:journey_customerprofile_import"),
                                 {"file": SimpleUploadedFile("profiles.csv", raw, content_type="text/csv")})
    return response.status_code, response.content.decode()


BAD_CELLS = [
    (b"email,birth_day,birth_month\nana@example.com,10,\xc2\xb2\n", "birth_month '\u00b2' is not a number"),
    (b"email,birth_day,birth_month,birth_year\nana@example.com,10,5," + b"1" * 5000 + b"\n",
     "birth_year is too long (5000 characters; at most 500)"),
    (b"email,birth_day,birth_month\nana@example.com," + b"9" * 400 + b",5\n",
     "birth_day '9999999999999999999999999999999999999999\u2026' is not a number (at most 4 digits)"),
    (b"email,birthday\nana@example.com,1990-13-01\n", "There is no month 13."),
    (b"email,marketing_consent,consent_text\nana@example.com,yes," + b"x" * 20000 + b"\n",
     "consent_text is too long (20000 characters; at most 5000)"),
    (b"email,birthday\n" + b"a" * 5000 + b"@example.com,05-10\n", "email is too long (5012 characters; at most 254)"),
    (b"email,marketing_consent,consent_text\nana@example.com,yes,Send me offers, weekly\n",
     "line has 4 cells but the first line names 3 columns"),
]


@pytest.mark.parametrize(("raw", "reason"), BAD_CELLS)
def test_a_bad_cell_rejects_its_row_with_a_short_clear_reason_through_the_command_and_the_admin(
        customers, tmp_path, admin_client, raw, reason):
    out = run_command(tmp_path, raw + b"ben@example.com,,,\n")
    assert "line 2: " in out and "rejected: " in out and reason in out
    assert "1 rejected" in out
    status, page = upload(admin_client, raw)
    assert status == 200 and "journey-import-report" in page and "1 rejected" in page
    assert reason.replace("'", "&#x27;") in page
    for long_run in ("x" * 100, "1" * 100, "9" * 100, "a" * 100):  # a huge cell is not echoed back whole
        assert long_run not in out and long_run not in page
    assert not CustomerProfile.objects.filter(user__username="ana").exists()


def test_feb_29_without_a_year_is_imported_and_feb_30_is_not(customers):
    report = import_profiles("email,birth_day,birth_month\nana@example.com,29,2\nben@example.com,30,2\n")
    assert report.count("created") == 1 and "February has no day 30" in report.rejected[0].errors[0]


BAD_FILES = [
    (b"", "The file is empty."),
    (b"\r\n  \r\n", "The file is empty."),
    (b'"",""\n', "The file is empty."),
    (b"email,consent_text\nana@example.com," + b"x" * 200_000 + b"\n",
     "Line 2 cannot be read: a cell is longer than 131072 characters. Nothing was imported."),
    (b"email,birthday\nana@example.com,05-10\nben@example.com,\x81\x8d\x90\n",
     "The file is not text in UTF-8 or Windows-1252: save it as CSV UTF-8."),
    (b"\xef\xbb\xbfemail,birthday\nana@example.com,05-10\nben@example.com,caf\xe9\n",
     "The file is UTF-8 text but line 3 is not UTF-8: save it again as CSV UTF-8."),
    ("email,consent_text\nana@example.com,Sí quiero\n".encode() + b"ben@example.com,caf\xe9\n",
     "The file is UTF-8 text but line 3 is not UTF-8: save it again as CSV UTF-8."),
    (b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00" + b"\x00" * 40,
     "The file is not CSV text (is it an Excel workbook? Save it as CSV UTF-8)."),
    (b"ana@example.com,1990-05-10,yes\nben@example.com,05-11,no\n",
     "The first line must name the columns (email, birthday, \u2026) but it looks like data: add a header line."),
    (b"email|birthday\nana@example.com|05-10\n",
     "The first line has no 'email' column. Separate the columns with commas, semicolons or tabs"),
]


@pytest.mark.parametrize(("raw", "message"), BAD_FILES)
def test_a_bad_file_is_refused_whole_with_a_clear_message_through_the_command_and_the_admin(
        customers, tmp_path, admin_client, raw, message):
    with pytest.raises(CommandError) as error:
        run_command(tmp_path, raw)
    assert message in str(error.value) and len(str(error.value)) < 500
    status, page = upload(admin_client, raw)
    assert status == 400
    if raw:
        assert message.replace("'", "&#x27;") in page
    else:  # Django's own form error for an empty upload
        assert "The submitted file is empty." in page
    assert not CustomerProfile.objects.exists()


def test_a_bad_file_message_reads_in_spanish_for_a_spanish_speaking_admin():
    with translation.override("es"), pytest.raises(ProfileImportError) as error:
        import_profiles("ana@example.com,1990-05-10,yes\nben@example.com,05-11,no\n")
    assert str(error.value) == ("La primera línea debe nombrar las columnas (email, birthday, …), pero parece "
                                "contener datos: añada una línea de encabezado.")


GOOD_FILES = [
    ("utf-8 with a BOM", "\ufeffemail;birthday\nana@example.com;05-10\n".encode()),
    ("utf-16 tab separated (Excel's Unicode text)", "email\tbirthday\r\nana@example.com\t05-10\r\n".encode("utf-16")),
    ("old Mac line ends", b"email,birthday\rana@example.com,05-10\r"),
    ("quoted semicolons in a comma file",
     b'email,consent_text,marketing_consent\nana@example.com,"Yes; offers; weekly",yes\n'
     b'ben@example.com,"No; thanks",no\n'),
    ("trailing empty cells", b"email;birthday\nana@example.com;05-10;;;\n"),
]


@pytest.mark.parametrize(("name", "raw"), GOOD_FILES, ids=[name for name, _raw in GOOD_FILES])
def test_files_as_spreadsheets_save_them_are_imported(customers, tmp_path, admin_client, name, raw):
    out = run_command(tmp_path, raw)
    assert "0 rejected" in out, out
    ana = CustomerProfile.objects.get(user__username="ana")
    if b"consent" in raw:
        assert ana.consent_text == "Yes; offers; weekly" and ana.marketing_consent == "granted"
    else:
        assert (ana.birth_month, ana.birth_day) == (5, 10)
    CustomerProfile.objects.all().delete()
    status, page = upload(admin_client, raw)
    assert status == 200 and "0 rejected" in page and CustomerProfile.objects.filter(user__username="ana").exists()
