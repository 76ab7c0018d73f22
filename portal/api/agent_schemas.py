"""The agents' API bodies (``/api/v1/agent/…``): the queue, a ticket with everything the agent's
page shows, changes, replies and notes, time, organizations."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from ..extensions import MAX_ID
from ..plans.hours import MAX_ENTRY_MINUTES, NOTE_LENGTH
from ..tickets.services import REPLY_MAX
from .schemas import (AttachmentOut, Category, EventOut, HoursOut, IdempotencyHeaders, MessageOut, OrgOut,
                      Priority, PriorityRequestOut, QuotaOut, SlaClock, TicketIn, TicketOut, _In)

Evaluation = Literal["under_review", "planned", "declined", "shipped"]
StaffStatus = Literal["open", "waiting_on_customer", "solved", "closed"]
QueueStatus = Literal["active", "all", "new", "open", "waiting_on_customer", "solved", "closed"]
OnBehalfChannel = Literal["phone", "chat", "visit", "email", "web"]  # portal.tickets.services.ON_BEHALF_CHANNELS
TimeKind = Literal["call", "video_call", "visit", "onboarding", "guided_setup"]  # portal.plans.hours.ORGANIZATION_KINDS
PAGE_MAX = 100


class _PageQuery(BaseModel):
    cursor: str | None = Field(None, max_length=300, description="next_cursor of the previous page.")
    limit: int = Field(50, ge=1, le=PAGE_MAX)


class QueueQuery(_PageQuery):
    """The queue's filters: one field per field of portal.agent.services.Filters (the /agent/ page's
    form), and the page."""

    status: QueueStatus = Field("active", description="active: new, open and waiting on the customer; all: any.")
    priority: Priority | None = None
    category: Category | None = None
    organization: int | None = Field(None, ge=1, le=MAX_ID, description="An organization's id.")
    assignee: str | None = Field(None, pattern=r"^(mine|none|[1-9][0-9]{0,9})$",
                                 description="mine, none (unassigned) or an agent's user id.")
    team: str | None = Field(None, pattern=r"^(mine|all|none|[1-9][0-9]{0,9})$",
                             description="mine (my teams' tickets, those of no team and mine; the default for an "
                                         "agent in a team, else all), all, none (no team) or a team's id.")
    risk: Literal["at_risk", "breached"] | None = Field(None, description="Only tickets whose running SLA clock "
                                                                          "is at risk, or overdue.")
    q: str | None = Field(None, max_length=200, description="Words in the subject or description, or a reference.")


class PersonOut(BaseModel):
    id: int
    name: str
    email: str


class OrganizationRef(BaseModel):
    id: int
    name: str


class TeamRef(BaseModel):
    id: int
    key: str = Field(description="What the routing file names.")
    name: str


class _Routed(BaseModel):
    team: TeamRef | None = Field(description="The team (functional area) the ticket belongs to; null: every agent's.")
    area: str | None = Field(description="The product area the customer chose when filing (a key of the routing "
                                         "file); null when they were not sure, or none was offered.")


class QueueTicketOut(TicketOut, _Routed):
    organization: OrganizationRef
    requester: PersonOut
    assignee: PersonOut | None
    sla: SlaClock | None = Field(description="The clock the queue sorts on: the running one due first.")
    sla_next_due: datetime | None = Field(description="The queue's order: when the running clock is due; null "
                                                      "when none runs (those come last).")
    priority_requested: Priority | None = Field(description="The customer's open request for another priority.")


class QueuePage(BaseModel):
    items: list[QueueTicketOut] = Field(description="Most urgent first: overdue, then due soonest, then no clock.")
    next_cursor: str | None
    next: str | None = Field(description="The URL of the next page, or null.")


class TimeEntryOut(BaseModel):
    id: int
    minutes: int
    worked_on: date
    note: str | None
    agent: str
    created_at: datetime


class TicketTimeOut(BaseModel):
    entries: list[TimeEntryOut] = Field(description="Every time entry of the ticket, oldest first.")
    logged_minutes: int = Field(description="All the time logged on the ticket.")
    period_logged_minutes: int | None = Field(description="Logged in the organization's current contract period; "
                                                          "null when its plan keeps no hours ledger.")
    period_billed_minutes: int | None = Field(description="What the plan's billing rules charge for it (minimums, "
                                                          "escalation, our bugs); null without a ledger.")
    escalated_to_development: bool
    caused_by_bug: bool = Field(description="Time on a ticket caused by our bug is not billed, when the plan says so.")


class AgentTicketDetail(TicketOut, _Routed):
    """The ticket as the agent's page shows it: internal notes and internal history included."""

    description: str
    steps_to_reproduce: str | None
    affected_user: str | None
    organization: OrganizationRef
    requester: PersonOut
    assignee: PersonOut | None
    plan: str | None = Field(description="The key of the plan whose targets the ticket runs on.")
    sla: SlaClock | None = Field(description="The clock running now, as the ticket page shows it.")
    clocks: list[SlaClock] = Field(description="Every SLA clock that applies now, the most urgent first.")
    attachments: list[AttachmentOut] = Field(description="Files attached when filing or through the API.")
    messages: list[MessageOut] = Field(description="The conversation with the internal notes (internal: true).")
    history: list[EventOut]
    priority_requests: list[PriorityRequestOut]
    time: TicketTimeOut


class IfMatchHeaders(BaseModel):
    if_match: str | None = Field(None, alias="If-Match", max_length=100,
                                 description="The ETag of the GET you worked from: the change is refused (412) when "
                                             "someone else changed the same thing, or wrote, since.")


class MessageHeaders(IdempotencyHeaders, IfMatchHeaders):
    pass


class TicketChangeIn(_In):
    """Any of these, at once: all are made or none. A field left out is left as it is."""

    status: StaffStatus | None = None
    priority: Priority | None = None
    reason: str | None = Field(None, max_length=2000, description="Why: required when the priority changes (the "
                                                                  "customer reads it); kept with a status change.")
    category: Category | None = None
    evaluation: Evaluation | None = Field(None, description="Feature requests' evaluation state.")
    assignee: int | None = Field(None, ge=1, le=MAX_ID, description="An agent's user id; null to unassign. With a "
                                                                    "team, one of its members.")
    team: int | None = Field(None, ge=1, le=MAX_ID, description="An active team's id (GET /agent/teams); null: no "
                                                                "team. An assignee not in the new team lets go of it.")


class AgentMessageIn(_In):
    body: str = Field(max_length=REPLY_MAX, description="Markdown.")
    internal: bool = Field(False, description="An internal note: customers never see it, no mail, no clock stops.")


class TimeIn(_In):
    minutes: int = Field(ge=1, le=MAX_ENTRY_MINUTES, description="Whole minutes, at most 16 hours per entry.")
    worked_on: date | None = Field(None, description="The day worked (default: today in the organization's "
                                                     "time zone); not before the ticket was filed.")
    note: str | None = Field(None, max_length=1000)


class AgentTicketIn(TicketIn):
    """A ticket filed for a customer who phoned, chatted, was visited or wrote: their plan, quota, hours
    and SLA apply as if they had filed, and they get the usual acknowledgement."""

    requester: int = Field(ge=1, le=MAX_ID, description="The customer's user id: an active customer of an "
                                                        "organization.")
    channel: OnBehalfChannel = Field(description="How the customer reached you; one their plan does not include "
                                                 "is refused.")
    area: str | None = Field(None, max_length=40, description="A product area the customer's plan offers (a key of "
                                                              "the routing file); the ticket goes to its team.")


class TeamOut(TeamRef):
    active: bool = Field(description="An inactive team keeps its tickets but takes no new ones.")
    members: list[PersonOut] = Field(description="Its agents and admins, by name.")


class TeamList(BaseModel):
    items: list[TeamOut] = Field(description="By name.")


class OrgTimeIn(_In):
    kind: TimeKind = Field(description="What the time was spent on, without a ticket.")
    minutes: int = Field(ge=1, le=MAX_ENTRY_MINUTES, description="Whole minutes, at most 16 hours per entry.")
    worked_on: date | None = Field(None, description="The day worked (default: today in the organization's "
                                                     "time zone); not in the future.")
    note: str | None = Field(None, max_length=NOTE_LENGTH)
    escalated_to_development: bool = Field(False, description="Billed as escalated, when the plan says so.")
    caused_by_bug: bool = Field(False, description="Caused by our bug: not billed, when the plan says so.")


class OrgTimeEntryOut(TimeEntryOut):
    kind: TimeKind
    escalated_to_development: bool
    caused_by_bug: bool


class OrgTimeLoggedOut(BaseModel):
    entry: OrgTimeEntryOut
    billable: bool | None = Field(description="Whether the plan bills this kind; null when it keeps no hours ledger.")
    billed_minutes: int | None = Field(description="What the plan's billing rules charge for this entry (minimums, "
                                                   "development, our bugs); null without a ledger.")
    hours: HoursOut | None = Field(description="The organization's hours balance now; null without a ledger.")


class TimeLoggedOut(BaseModel):
    entry: TimeEntryOut
    time: TicketTimeOut = Field(description="The ticket's time and billing after this entry.")
    hours: HoursOut | None = Field(description="The organization's hours balance now; null without a ledger.")


class ChangedOut(BaseModel):
    changed: dict[str, list[str | None]] = Field(description="field -> [old, new], for what changed.")
    ticket: AgentTicketDetail


# --- organizations ----------------------------------------------------------------------

class OrgListQuery(_PageQuery):
    q: str | None = Field(None, max_length=200, description="Part of the organization's name.")


class PlanInForceOut(BaseModel):
    key: str
    name: str
    starts_on: date
    ends_on: date | None
    trial: bool


class OrgSummaryOut(BaseModel):
    id: int
    name: str
    timezone: str
    plan: PlanInForceOut | None = Field(description="The plan in force today; null when none is.")
    quota: QuotaOut | None = Field(description="This month's tickets; null without a plan.")
    hours: HoursOut | None = Field(description="Support hours left; null when the plan keeps no ledger.")
    open_tickets: int = Field(description="New, open or waiting on the customer.")


class OrgSummaryPage(BaseModel):
    items: list[OrgSummaryOut] = Field(description="By name.")
    next_cursor: str | None
    next: str | None


class AgentOrgOut(OrgOut):
    id: int
    domains: list[str] = Field(description="Mail from these domains files tickets for the organization.")
    open_tickets: int

