"""The onboarding pages per role: program, htmx slot picker, booking, session page, expert, admin."""

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from icalendar import Calendar

from portal.auth.models import Role
from portal.extensions import db
from portal.onboarding import services
from portal.onboarding.models import OnboardingSession
from tests.conftest import csrf_token
from tests.factories import gen_ticket, gen_user, queued_mail
from tests.onboarding.conftest import new_customer

# The tests marked with instants: program weeks, lead times and notice periods all
# count from now, in the customer's zone.


def _login(auth, user):
    auth.login(user.email)
    return user


def _first_slot(client, week=1):
    page = client.get(f"/onboarding/week/{week}", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in page
    return re.findall(r'name="slot" value="([^"]+)"', page)


@pytest.mark.instants
def test_customer_books_from_the_htmx_slot_picker(app, client, auth, expert, now):
    customer = _login(auth, new_customer(now.date()))
    page = client.get("/onboarding/").get_data(as_text=True)
    assert "Week 1" in page and "Week 4" in page and "Not booked" in page
    slots = _first_slot(client, 2)
    assert slots and all(s.startswith(f"{expert.user_id}|") for s in slots)
    token = csrf_token(client, "/onboarding/week/2")
    # Bad input: no slot, unknown area; the questions typed are kept.
    response = client.post("/onboarding/week/2", data={"csrf_token": token, "feature_area": "astrology",
                                                        "questions": "Keep me"}, headers={"HX-Request": "true"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "Pick one of the free slots" in page and "Keep me" in page
    response = client.post("/onboarding/week/2", data={"csrf_token": token, "slot": slots[0], "feature_area": "plans",
                                                        "questions": "How is the quota counted?"},
                           headers={"HX-Request": "true"})
    assert response.status_code == 200 and response.headers["HX-Redirect"].startswith("/onboarding/sessions/")
    session = db.session.scalar(db.select(OnboardingSession))
    assert session.organization_id == customer.organization_id and session.feature_area == "plans"
    page = client.get(response.headers["HX-Redirect"]).get_data(as_text=True)
    assert "https://meet.example.com/eva" in page and "How is the quota counted?" in page
    assert "Reschedule" in page and "Cancel the session" in page
    ics = client.get(f"/onboarding/sessions/{session.id}/session.ics")
    event = Calendar.from_ical(ics.data).walk("VEVENT")[0]
    assert event["UID"].startswith(f"onboarding-session-{session.id}@") and int(event["SEQUENCE"]) == 0
    assert event.decoded("DTSTART").replace(tzinfo=None) == session.starts_at
    assert "meet.example.com/eva" in str(event["LOCATION"])
    # The week is now taken: its slot vanished for another customer of another organization.
    auth.logout()
    _login(auth, new_customer(now.date()))
    assert slots[0] not in _first_slot(client, 2)
    assert client.get(f"/onboarding/sessions/{session.id}").status_code == 404
    assert client.get(f"/onboarding/sessions/{session.id}/session.ics").status_code == 404


@pytest.mark.instants
def test_booking_sends_the_calendar_file_by_mail(app, client, auth, expert, now):
    before = len(queued_mail())
    customer = _login(auth, new_customer(now.date()))
    slots = _first_slot(client, 2)
    client.post("/onboarding/week/2", data={"csrf_token": csrf_token(client, "/onboarding/"), "slot": slots[0],
                                            "feature_area": "tickets"})
    sent = queued_mail()[before:]
    to_customer = [m for m in sent if f"To: {customer.email}" in m]
    assert len(to_customer) == 1 and "text/calendar" in to_customer[0] and 'filename="session.ics"' in to_customer[0]
    assert any(f"To: {expert.user.email}" in m for m in sent)


@pytest.mark.instants
def test_reschedule_and_cancel_pages(app, client, auth, expert, now):
    _login(auth, new_customer(now.date()))
    slots = _first_slot(client, 3)
    token = csrf_token(client, "/onboarding/")
    client.post("/onboarding/week/3", data={"csrf_token": token, "slot": slots[0], "feature_area": "tickets"})
    session = db.session.scalar(db.select(OnboardingSession))
    page = client.get(f"/onboarding/sessions/{session.id}/reschedule").get_data(as_text=True)
    other = re.findall(r'name="slot" value="([^"]+)"', page)
    assert slots[0] not in other and slots[1] in other
    response = client.post(f"/onboarding/sessions/{session.id}/reschedule", data={"csrf_token": token, "slot": "x"})
    assert response.status_code == 422 and "Pick one of the free slots" in response.get_data(as_text=True)
    response = client.post(f"/onboarding/sessions/{session.id}/reschedule", data={"csrf_token": token,
                                                                                   "slot": slots[1]})
    assert response.status_code == 302
    db.session.refresh(session)
    assert session.starts_at.isoformat() == slots[1].split("|")[1] and session.sequence == 1
    assert client.post(f"/onboarding/sessions/{session.id}/cancel", data={"csrf_token": token}).status_code == 302
    db.session.refresh(session)
    assert session.status == "cancelled"
    assert "Not booked" in client.get("/onboarding/").get_data(as_text=True)


@pytest.mark.instants
def test_the_expert_runs_the_session_and_the_customer_sees_the_notes(app, client, auth, expert, now):
    customer = new_customer(now.date() - timedelta(days=3))
    start = now - timedelta(hours=2)
    session = OnboardingSession(organization_id=customer.organization_id, booked_by_id=customer.id,
                                expert_id=expert.user_id, starts_at=start, ends_at=start + timedelta(hours=1), week=1,
                                feature_area="tickets", questions="Question one")
    db.session.add(session)
    db.session.commit()
    _login(auth, expert.user)
    page = client.get("/onboarding/expert/").get_data(as_text=True)
    assert customer.organization.name in page and "Question one" in page
    token = csrf_token(client, "/onboarding/expert/")
    client.post(f"/onboarding/sessions/{session.id}/outcome", data={
        "csrf_token": token, "status": "held", "notes": "We covered **priorities**.",
        "follow_up": "priorities-explained\nhow-to-write-a-good-ticket"})
    auth.logout()
    _login(auth, customer)
    page = client.get(f"/onboarding/sessions/{session.id}").get_data(as_text=True)
    assert "<strong>priorities</strong>" in page and "Read next" in page and "Rate this session" in page
    assert "Materials" in page and "/kb/priorities-explained" in page
    client.post(f"/onboarding/sessions/{session.id}/rating", data={"csrf_token": token, "rating": "9"})
    db.session.refresh(session)
    assert session.rating is None
    client.post(f"/onboarding/sessions/{session.id}/rating", data={"csrf_token": csrf_token(client, "/onboarding/"),
                                                                   "rating": "5"})
    db.session.refresh(session)
    assert session.rating == 5


@pytest.mark.instants
def test_feedback_form_keeps_what_was_typed(app, client, auth, expert, now):
    _login(auth, new_customer(now.date() - timedelta(days=60)))
    page = client.get("/onboarding/").get_data(as_text=True)
    assert "How was your onboarding?" in page
    token = csrf_token(client, "/onboarding/feedback")
    response = client.post("/onboarding/feedback", data={"csrf_token": token, "usefulness": "5", "clarity": "0",
                                                         "pace": "3", "comments": "Please keep this."})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "Give a score from 1 to 5." in page and "Please keep this." in page
    response = client.post("/onboarding/feedback", data={"csrf_token": token, "usefulness": "5", "clarity": "4",
                                                         "pace": "3", "expert_score": "5", "comments": "Thanks!"})
    assert response.status_code == 302
    assert "we have your feedback" in client.get("/onboarding/").get_data(as_text=True)


@pytest.mark.instants
def test_admins_read_the_report_and_others_may_not(app, client, auth, expert, now):
    customer = new_customer(now.date() - timedelta(days=60))
    start = now - timedelta(days=50)
    db.session.add(OnboardingSession(organization_id=customer.organization_id, booked_by_id=customer.id,
                                     expert_id=expert.user_id, starts_at=start, ends_at=start + timedelta(hours=1),
                                     week=2, feature_area="api", status="held", rating=3))
    db.session.commit()
    services.submit_feedback(customer, {"usefulness": 4, "clarity": 5, "pace": 3, "expert_score": 5,
                                        "comments": "=cmd|' /C calc'!A0"})
    _login(auth, gen_user(Role.AGENT))
    assert client.get("/onboarding/admin/").status_code == 403
    auth.logout()
    _login(auth, gen_user(Role.WRITER))
    assert client.get("/onboarding/expert/").status_code == 403
    auth.logout()
    _login(auth, gen_user(Role.ADMIN))
    page = client.get("/onboarding/admin/").get_data(as_text=True)
    assert "Eva Expert" in page and "Program feedback per month" in page and "4.00" in page
    assert "Session ratings per month" in page and start.strftime("%Y-%m") in page and "3.00" in page
    assert "API and integrations" in page
    body = client.get("/onboarding/admin/feedback.csv").get_data(as_text=True)
    assert body.splitlines()[1].startswith("program,") and ",'=cmd" in body


def test_expert_availability_form_validates(app, client, auth):
    _login(auth, gen_user(Role.AGENT))
    token = csrf_token(client, "/onboarding/expert/")
    response = client.post("/onboarding/expert/availability", data={
        "csrf_token": token, "timezone": "Mars/Base", "meeting_url": "https://meet.example.com/me",
        "windows": "mon-fri 09:00-12:00"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "Unknown time zone" in page and "mon-fri 09:00-12:00" in page
    response = client.post("/onboarding/expert/availability", data={
        "csrf_token": token, "timezone": "Europe/Madrid", "meeting_url": "https://meet.example.com/me",
        "windows": "mon-fri 09:00-12:00\ntue 15:00-17:00"})
    assert response.status_code == 302
    response = client.post("/onboarding/expert/days-off", data={"csrf_token": token, "starts_on": "soon"})
    assert response.status_code == 302 and "Enter dates like" in client.get("/onboarding/expert/").get_data(as_text=True)
    assert client.post("/onboarding/expert/days-off", data={"csrf_token": token, "starts_on": "2026-12-24",
                                                            "ends_on": "2026-12-26"}).status_code == 302
    page = client.get("/onboarding/expert/").get_data(as_text=True)
    assert "tue 15:00-17:00" in page and "Days off" in page


@pytest.mark.instants
def test_training_request_books_an_extra_session(app, client, auth, expert, now):
    customer = _login(auth, new_customer(now.date() - timedelta(days=90)))
    ticket = gen_ticket(customer, category="training_request", subject="Training for new staff")
    page = client.get(f"/tickets/{ticket.reference}").get_data(as_text=True)
    assert f"/onboarding/extra/{ticket.reference}" in page
    page = client.get(f"/onboarding/extra/{ticket.reference}").get_data(as_text=True)
    slots = re.findall(r'name="slot" value="([^"]+)"', page)
    assert slots and "Training for new staff" in page
    response = client.post(f"/onboarding/extra/{ticket.reference}", data={
        "csrf_token": csrf_token(client, "/onboarding/"), "slot": slots[0], "feature_area": "api", "questions": "x"})
    assert response.status_code == 302
    session = db.session.scalar(db.select(OnboardingSession))
    assert session.ticket_id == ticket.id and session.week is None
    question = gen_ticket(customer, category="question")
    assert client.get(f"/onboarding/extra/{question.reference}").status_code == 404


def test_expert_commands(app, runner):
    agent = gen_user(Role.AGENT, email="sam@vendor.example.com")
    result = runner.invoke(args=["expert", "add", agent.email, "--timezone", "Europe/Madrid", "--meeting-url",
                                 "https://meet.example.com/sam", "--hours", "mon-fri 09:00-12:00", "--hours",
                                 "tue,thu 15:00-18:00"])
    assert result.exit_code == 0 and "7 weekly window(s)" in result.output
    result = runner.invoke(args=["expert", "add", agent.email, "--timezone", "Mars/Base", "--meeting-url", "https://x"])
    assert result.exit_code == 1 and "Unknown time zone" in result.output
    result = runner.invoke(args=["expert", "day-off", agent.email, "2026-12-24", "--until", "2026-12-26"])
    assert result.exit_code == 0
    assert runner.invoke(args=["expert", "day-off", "nobody@x.example.com", "2026-12-24"]).exit_code == 1


def test_a_slot_written_with_an_offset_is_the_same_instant(app, client, auth, expert, now):
    _login(auth, new_customer(now.date()))
    slot = _first_slot(client, 2)[0]
    expert_id, starts_at = slot.split("|")
    kiribati = datetime.fromisoformat(starts_at).replace(tzinfo=UTC).astimezone(timezone(timedelta(hours=14)))
    token = csrf_token(client, "/onboarding/week/2")
    response = client.post("/onboarding/week/2", data={"csrf_token": token, "slot": "5|2026-12-02T09:00:00+14:00",
                                                        "feature_area": "plans", "questions": "Keep me"})
    # 19:00 UTC on the 1st: converted, so judged as the instant it is
    assert response.status_code == 422 and "That time is in the past" in response.get_data(as_text=True)
    response = client.post("/onboarding/week/2", data={"csrf_token": token, "feature_area": "plans",
                                                        "slot": f"{expert_id}|{kiribati.isoformat()}"})
    assert response.status_code == 302
    session = db.session.scalar(db.select(OnboardingSession))
    assert session.starts_at == datetime.fromisoformat(starts_at)
