"""Plans say during which hours each channel is open (seed 001: phone and chat 8:00-18:00 Monday to Sunday)."""

from datetime import datetime
from pathlib import Path

import pytest

from portal.plans.catalog import PlansError, channel_hours, channel_open, channel_opens_at, includes_channel, load_plans

EXAMPLES = Path(__file__).parents[2] / "examples" / "plans"


def test_support_levels_phone_and_chat_hours():
    plans = load_plans(EXAMPLES / "support-levels.toml")
    preferential = plans["preferential"]
    # Sunday 2026-12-06 in Madrid (UTC+1): 08:00-18:00 local is 07:00-17:00 UTC.
    assert channel_open(preferential, "phone", "Europe/Madrid", datetime(2026, 12, 6, 9, 0))
    assert not channel_open(preferential, "chat", "Europe/Madrid", datetime(2026, 12, 6, 17, 30))
    assert channel_opens_at(preferential, "phone", "Europe/Madrid", datetime(2026, 12, 6, 17, 30)) == \
        datetime(2026, 12, 7, 7, 0)
    # The portal's form and the API never close.
    assert channel_open(preferential, "web", "Europe/Madrid", datetime(2026, 12, 6, 23, 0))
    assert includes_channel(plans["accompaniment"], "visit") and not includes_channel(preferential, "visit")
    assert not includes_channel(plans["monthly"], "phone") and includes_channel(plans["monthly"], "api")


def test_a_channel_without_hours_follows_the_calendar():
    standard = load_plans()["standard"]  # phone mon-fri 08:00-17:00, the customer's zone
    assert channel_open(standard, "email", "Europe/Madrid", datetime(2026, 12, 2, 10, 0))
    assert not channel_open(standard, "phone", "Europe/Madrid", datetime(2026, 12, 5, 10, 0))  # Saturday


@pytest.mark.parametrize("hours, problem", [
    ('{ chat = ["mon-fri 08:00-18:00"] }', 'plan "p": channel_hours.chat: chat is not one of this plan\'s channels'),
    ('{ phone = ["mon-fri 18:00-08:00"] }', 'plan "p", channel_hours: Value error, phone:'),
    ('{ fax = ["mon-fri 08:00-18:00"] }', 'plan "p", channel_hours.fax'),
])
def test_channel_hours_are_validated(tmp_path, hours, problem):
    path = tmp_path / "plans.toml"
    path.write_text(f'[plans.p]\nname = "P"\nchannels = ["web", "phone"]\nchannel_hours = {hours}\n'
                    '[plans.p.calendar]\nhours = ["mon-fri 09:00-17:00"]\n')
    with pytest.raises(PlansError) as error:
        load_plans(path)
    assert problem.replace("Value error, ", "") in str(error.value)


def test_always_open_hours_that_close_on_closed_days_come_with_their_calendar(tmp_path):
    # The agent's notice says when such a channel opens again: it needs the calendar to say it locally.
    plans_file = tmp_path / "plans.toml"
    plans_file.write_text('[plans.x]\nname = "X"\nchannels = ["web", "phone"]\n'
                          '[plans.x.calendar]\nhours = ["always"]\ntimezone = "Europe/Madrid"\nclosed = [2026-12-24]\n')
    plan = load_plans(plans_file)["x"]
    kind, calendar = channel_hours(plan, "phone", "UTC")
    christmas_eve = datetime(2026, 12, 24, 10, 0)
    assert kind == "always" and not channel_open(plan, "phone", "UTC", christmas_eve)
    assert calendar.local(channel_opens_at(plan, "phone", "UTC", christmas_eve)).date().isoformat() == "2026-12-25"
    assert channel_hours(load_plans()["premium"], "web") == ("always", None)
