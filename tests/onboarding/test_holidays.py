"""Experts' public holidays: slots skip them on the expert's own date, bookings and moves to them
are refused, the expert page and the CLI set them, and ``unavailable()`` says why."""

import re
from datetime import date, datetime, timedelta

import holidays
import pytest
from sqlalchemy import select

from portal.audit.models import AuditEntry
from portal.auth.models import Role
from portal.errors import DomainError
from portal.extensions import db
from portal.onboarding import availability, services
from portal.onboarding.availability import unavailable
from portal.onboarding.models import AvailabilityRule, DayOff, ExpertProfile, OnboardingSession, SessionStatus
from portal.onboarding.slots import expert_slots
from tests.conftest import csrf_token
from tests.factories import gen_user
from tests.onboarding.conftest import new_customer

H = timedelta(hours=1)
MADRID_2026 = holidays.Spain(subdiv="MD", years=2026, language="en_US")
# Instants before the week of 7 December 2026, less the 4 hours' lead, at which booking it works.
BEFORE_THE_HOLIDAYS = ("wednesday-10:00-utc", "thursday-00:03-utc", "friday-17:59-madrid", "saturday-11:00-utc")


def _expert(timezone, rules, country=None, subdivision=None):
    profile = ExpertProfile(user_id=1, timezone=timezone, meeting_url="https://x", holiday_country=country,
                            holiday_subdivision=subdivision)
    profile.rules = [AvailabilityRule(weekday=d, start_minute=a, end_minute=b) for d, a, b in rules]
    profile.days_off = []
    return profile


def _days(slots, zone="Europe/Madrid"):
    from zoneinfo import ZoneInfo

    return sorted({s.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(zone)).date() for s in slots})


def test_the_package_says_madrid_moves_constitution_day_to_monday_7_december_2026():
    # Constitution Day, 6 December, is a Sunday in 2026: Madrid moves it to Monday 7, Spain does not.
    assert MADRID_2026.get(date(2026, 12, 7)) == "Monday following Constitution Day"
    assert date(2026, 12, 8) in MADRID_2026 and date(2026, 12, 6) not in MADRID_2026
    assert date(2026, 12, 7) not in holidays.Spain(years=2026)  # Madrid's, not Spain's
    assert date(2026, 12, 8) in holidays.Spain(years=2026)


def test_slots_skip_the_experts_regional_holidays_and_only_theirs():
    week = [(d, 9 * 60, 12 * 60) for d in range(5)]
    start, end = datetime(2026, 12, 7), datetime(2026, 12, 12)  # Monday 7 to Friday 11 December
    every_day = [date(2026, 12, d) for d in range(7, 12)]
    assert _days(expert_slots(_expert("Europe/Madrid", week, "ES", "MD"), start, end, H)) == every_day[2:]
    assert _days(expert_slots(_expert("Europe/Madrid", week, "ES"), start, end, H)) == [every_day[0], *every_day[2:]]
    assert _days(expert_slots(_expert("Europe/Madrid", week), start, end, H)) == every_day  # no country
    assert _days(expert_slots(_expert("Europe/Madrid", week, "GB", "ENG"), start, end, H)) == every_day
    # Each slot counts: nine of the fifteen remain in Madrid.
    assert len(expert_slots(_expert("Europe/Madrid", week, "ES", "MD"), start, end, H)) == 9


def test_a_holiday_is_the_experts_local_date_not_the_utc_one():
    # Bogotá is UTC-5. Monday 7 and Tuesday 8 December, 18:00-21:00 local, are 23:00-02:00 UTC.
    # 8 December is a Colombian holiday: Monday evening's slots (8 December in UTC) stay,
    # Tuesday evening's (partly 9 December in UTC) go.
    expert = _expert("America/Bogota", [(0, 18 * 60, 21 * 60), (1, 18 * 60, 21 * 60)], "CO")
    assert date(2026, 12, 8) in holidays.Colombia(years=2026)
    slots = expert_slots(expert, datetime(2026, 12, 7), datetime(2026, 12, 10), H)
    assert slots == [datetime(2026, 12, 7, 23), datetime(2026, 12, 8, 0), datetime(2026, 12, 8, 1)]
    # East of UTC: Madrid's Tuesday 8 December (a holiday in all Spain) starts at 23:00 UTC on the 7th.
    madrid = _expert("Europe/Madrid", [(0, 0, 2 * 60), (1, 0, 2 * 60)], "ES")
    assert expert_slots(madrid, datetime(2026, 12, 6), datetime(2026, 12, 9), H) == [
        datetime(2026, 12, 6, 23), datetime(2026, 12, 7, 0)]  # Monday 00:00-02:00 only


def test_the_region_typed_is_checked_and_written_the_packages_way():
    assert availability.check_region(" es ", "md") == ("ES", "MD")
    assert availability.check_region("ESP", "Madrid") == ("ES", "MD")  # alpha-3 code, the region's name
    assert availability.check_region("co", "") == ("CO", None)
    assert availability.check_region("", None) == (None, None)

    def refused(country, subdivision, field, match):
        with pytest.raises(DomainError, match=match) as caught:
            availability.check_region(country, subdivision)
        assert caught.value.field == field

    refused("XX", None, "holiday_country", "No public holidays are known for the country 'XX'")
    refused("ES", "ZZ", "holiday_subdivision", "ES has no region 'ZZ'")
    refused("", "MD", "holiday_country", "country of that region first")
    assert ("MD", "Madrid (MD)") in availability.subdivisions("ES")
    assert availability.subdivisions("XX") == [] and availability.subdivisions("") == []
    assert ("ES", "España") in availability.countries("es") and ("ES", "Spain") in availability.countries("en")


def test_a_saved_region_the_package_later_dropped_keeps_its_countrys_holidays(caplog):
    expert = _expert("Europe/Madrid", [(1, 9 * 60, 12 * 60)], "ES", "Nowhere")
    assert expert_slots(expert, datetime(2026, 12, 8), datetime(2026, 12, 9), H) == []  # 8 December, national
    assert "no longer knows ES-Nowhere" in caplog.text


def test_a_refused_region_saves_nothing(app, expert):
    services.set_holiday_region(expert, "ES", "MD")
    with pytest.raises(DomainError):
        services.set_holiday_region(expert, "ES", "Atlantis")
    db.session.rollback()
    saved = db.session.get(ExpertProfile, expert.user_id)
    assert (saved.holiday_country, saved.holiday_subdivision, saved.holiday_region) == ("ES", "MD", "ES-MD")
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "expert.holidays")).all()
    assert [e.detail for e in entries] == [{"from": None, "to": "ES-MD"}]


def test_unavailable_says_why(app, expert):
    assert unavailable(expert.user_id, date(2026, 12, 8)) is None  # no country yet
    services.set_holiday_region(expert, "ES", "MD")
    services.add_day_off(expert, date(2026, 12, 14), date(2026, 12, 15), "Dentist")
    services.add_day_off(expert, date(2026, 12, 17))
    assert unavailable(expert.user_id, date(2026, 12, 7)) == "Public holiday: Monday following Constitution Day (ES-MD)"
    assert unavailable(expert.user_id, date(2026, 12, 8)) == "Public holiday: Immaculate Conception (ES-MD)"
    assert unavailable(expert.user_id, date(2026, 12, 15)) == "Day off: Dentist"
    assert unavailable(expert.user_id, date(2026, 12, 17)) == "Day off"
    assert unavailable(expert.user_id, date(2026, 12, 9)) is None
    assert availability.reason(expert, date(2026, 12, 8), language="es") == (
        "Public holiday: Inmaculada Concepción (ES-MD)")
    assert unavailable(gen_user(Role.AGENT).id, date(2026, 12, 8)) is None  # not an expert
    assert unavailable(10**6, date(2026, 12, 8)) is None


@pytest.mark.instants(*BEFORE_THE_HOLIDAYS)
def test_booking_or_moving_to_a_holiday_is_refused_even_when_posted(app, expert, now):
    customer = new_customer(date(2026, 11, 30))  # week 2 is 7-13 December
    program = services.program(customer.organization)
    services.set_holiday_region(expert, "ES", "MD")
    offered = {s.starts_at.date() for s in services.week_slots(program, 2, now)}
    assert offered == {date(2026, 12, d) for d in (9, 10, 11)}
    holiday = datetime(2026, 12, 8, 8)  # 09:00 in Madrid, inside the weekly hours
    with pytest.raises(DomainError, match=r"no sessions that day \(Public holiday: Immaculate Conception \(ES-MD\)\)"):
        services.book(customer, 2, expert.user_id, holiday, "tickets", now=now)
    db.session.rollback()
    assert db.session.scalar(select(OnboardingSession.id)) is None
    session = services.book(customer, 2, expert.user_id, datetime(2026, 12, 9, 8), "tickets", now=now)
    with pytest.raises(DomainError, match="Monday following Constitution Day"):
        services.reschedule(session, customer, expert.user_id, datetime(2026, 12, 7, 9), now=now)
    db.session.rollback()
    db.session.refresh(session)
    assert (session.starts_at, session.sequence) == (datetime(2026, 12, 9, 8), 0)
    services.reschedule(session, customer, expert.user_id, datetime(2026, 12, 10, 8), now=now)
    assert session.starts_at == datetime(2026, 12, 10, 8)


@pytest.mark.instants(*BEFORE_THE_HOLIDAYS)
def test_the_booking_page_refuses_a_stale_holiday_slot_and_keeps_what_was_typed(app, client, auth, expert, now):
    customer = new_customer(date(2026, 11, 30))
    auth.login(customer.email)
    page = client.get("/onboarding/week/2").get_data(as_text=True)
    assert f"{expert.user_id}|2026-12-08T08:00:00" in page  # loaded before the expert chose Madrid's holidays
    services.set_holiday_region(expert, "ES", "MD")
    response = client.post("/onboarding/week/2", data={
        "csrf_token": csrf_token(client, "/onboarding/"), "slot": f"{expert.user_id}|2026-12-08T08:00:00",
        "feature_area": "plans", "questions": "Keep this question"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "Public holiday: Immaculate Conception (ES-MD)" in page
    assert "Keep this question" in page
    assert not re.search(r'name="slot" value="\d+\|2026-12-0[78]T', page)  # the new list has no holiday
    assert db.session.scalar(select(OnboardingSession.id)) is None


@pytest.mark.instants(*BEFORE_THE_HOLIDAYS)
def test_the_expert_sets_holidays_on_their_page(app, client, auth, expert, now):
    customer = new_customer(date(2026, 11, 30))
    booked = services.book(customer, 2, expert.user_id, datetime(2026, 12, 8, 9), "tickets", now=now)
    auth.login(expert.user.email)
    page = client.get("/onboarding/expert/").get_data(as_text=True)
    assert "Public holidays" in page and 'hx-get="/onboarding/expert/regions"' in page
    assert 'value="ES">Spain (ES)' in page and "on a public holiday" not in page
    token = csrf_token(client, "/onboarding/expert/")
    # No CSRF token: refused, nothing saved.
    assert client.post("/onboarding/expert/holidays", data={"holiday_country": "ES"}).status_code == 400
    assert db.session.get(ExpertProfile, expert.user_id).holiday_country is None
    # An unknown country: the message next to the field, what was typed still chosen.
    response = client.post("/onboarding/expert/holidays", data={"csrf_token": token, "holiday_country": "XX",
                                                                "regions_for": ""})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "No public holidays are known for the country" in page
    assert '<option value="XX" selected>' in page
    # A region that is not the country's.
    response = client.post("/onboarding/expert/holidays", data={"csrf_token": token, "holiday_country": "ES",
                                                                "regions_for": "ES", "holiday_subdivision": "ZZ"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "ES has no region" in page and 'value="ES" selected' in page
    # Without JavaScript the region list was the previous country's: the new one's is shown, not saved.
    response = client.post("/onboarding/expert/holidays", data={"csrf_token": token, "holiday_country": "ES",
                                                                "regions_for": "", "holiday_subdivision": "MD"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "the list now shows its regions" in page and "Madrid (MD)" in page
    assert db.session.get(ExpertProfile, expert.user_id).holiday_country is None
    response = client.post("/onboarding/expert/holidays", data={"csrf_token": token, "holiday_country": "ES",
                                                                "regions_for": "ES", "holiday_subdivision": "MD"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(ExpertProfile, expert.user_id).holiday_region == "ES-MD"
    page = client.get("/onboarding/expert/").get_data(as_text=True)
    assert "No sessions can be booked on the public holidays of ES-MD" in page
    assert "Immaculate Conception" in page and "Monday following Constitution Day" in page
    assert 'value="MD" selected' in page
    # The session booked before stays booked, listed so that it can be moved.
    assert "on a public holiday or a day off" in page and f"/onboarding/sessions/{booked.id}" in page
    db.session.refresh(booked)
    assert booked.status == SessionStatus.BOOKED.value
    # Back to none.
    client.post("/onboarding/expert/holidays", data={"csrf_token": token, "holiday_country": "", "regions_for": "ES"})
    db.session.expire_all()
    assert db.session.get(ExpertProfile, expert.user_id).holiday_region is None


def test_the_region_list_is_a_fragment_or_the_page(app, client, auth, expert):
    auth.login(expert.user.email)
    response = client.get("/onboarding/expert/regions?holiday_country=es", headers={"HX-Request": "true"})
    fragment = response.get_data(as_text=True)
    assert "<html" not in fragment and 'id="holiday-region"' in fragment and "Madrid (MD)" in fragment
    assert 'name="regions_for" value="ES"' in fragment and "HX-Request" in response.headers["Vary"]
    page = client.get("/onboarding/expert/regions?holiday_country=ES").get_data(as_text=True)
    assert "<html" in page and 'value="ES" selected' in page and "Madrid (MD)" in page
    assert "no region to choose" in client.get("/onboarding/expert/regions?holiday_country=CO",
                                               headers={"HX-Request": "true"}).get_data(as_text=True)
    auth.logout()
    auth.login(new_customer(date(2026, 11, 30)).email)
    assert client.get("/onboarding/expert/regions?holiday_country=ES").status_code == 403


def test_the_admin_page_shows_each_experts_region(app, client, auth, expert):
    services.set_holiday_region(expert, "ES", "MD")
    auth.login(gen_user(Role.ADMIN).email)
    page = client.get("/onboarding/admin/").get_data(as_text=True)
    assert "public holidays of ES-MD" in page


def test_the_holidays_command(app, runner, expert):
    email = expert.user.email
    result = runner.invoke(args=["expert", "holidays", email, "es", "md"])
    assert result.exit_code == 0, result.output
    assert "public holidays of ES-MD" in result.output and "2026-12-07 Monday following Constitution Day" in result.output
    db.session.expire_all()
    assert db.session.get(ExpertProfile, expert.user_id).holiday_region == "ES-MD"
    result = runner.invoke(args=["expert", "holidays", email, "XX"])
    assert result.exit_code == 1 and "No public holidays are known for the country 'XX'" in result.output
    result = runner.invoke(args=["expert", "holidays", email, "ES", "Atlantis"])
    assert result.exit_code == 1 and "ES has no region 'Atlantis'" in result.output
    db.session.expire_all()
    assert db.session.get(ExpertProfile, expert.user_id).holiday_region == "ES-MD"
    result = runner.invoke(args=["expert", "holidays", email, "none"])
    assert result.exit_code == 0 and "follows no public holidays" in result.output
    assert runner.invoke(args=["expert", "holidays", gen_user(Role.AGENT).email, "ES"]).exit_code == 1
    assert runner.invoke(args=["expert", "holidays", "nobody@x.example.com", "ES"]).exit_code == 1
