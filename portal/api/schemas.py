"""The API's request and response bodies. They are the contract: spectree validates
requests against them and writes the OpenAPI document from them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from spectree.model_adapter.pydantic_adapter import BaseFile

from ..tickets.services import DESCRIPTION_MAX, REPLY_MAX, STEPS_MAX, SUBJECT_MAX

Category = Literal["technical_issue", "feature_request", "training_request", "question"]
Level = Literal["high", "medium", "low"]
Priority = Literal["P1", "P2", "P3", "P4"]
Status = Literal["new", "open", "waiting_on_customer", "solved", "closed"]
ArticleType = Literal["guide", "faq", "tutorial", "api"]
Lang = Literal["en", "es"]
Channel = Literal["web", "email", "api", "phone", "chat", "visit"]


def utc(moment: datetime | None) -> datetime | None:
    """Stored times are naive UTC; the API says so."""
    return moment.replace(tzinfo=UTC) if moment is not None else None


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- knowledge base ------------------------------------------------------------------

class SearchQuery(BaseModel):
    q: str = Field(min_length=1, max_length=200, description="The search words; \"quotes\" for a phrase.")
    type: ArticleType | None = Field(None, description="Only articles of this type.")
    category: str | None = Field(None, max_length=60, description="Only articles of this category.")
    lang: Lang | None = Field(None, description="The language ranked first (default: the token owner's, else en). "
                                                "Both languages are searched.")
    limit: int = Field(10, ge=1, le=50, description="Results per page.")
    page: int = Field(1, ge=1, le=100)


class ArticleBase(BaseModel):
    slug: str
    title: str
    summary: str
    type: str
    category: str
    lang: str
    url: str = Field(description="The article's page in the portal.")


class SearchHit(ArticleBase):
    score: float
    snippet: str = Field(description="HTML: escaped text with <mark> around the matching words.")


class SearchResults(BaseModel):
    query: str
    total: int = Field(description="Exact when total_exact is true, else a lower bound.")
    total_exact: bool
    page: int
    limit: int
    did_you_mean: str | None = Field(description="A corrected query when some words were not found.")
    next: str | None = Field(description="The URL of the next page, or null.")
    results: list[SearchHit]


class ArticleOut(ArticleBase):
    tags: list[str]
    updated: date | None
    related: list[str]
    video: str | None
    html: str = Field(description="The article rendered as sanitized HTML.")


# --- tickets ---------------------------------------------------------------------------

class TicketIn(_In):
    subject: str = Field(max_length=SUBJECT_MAX, description="One request per ticket; at least 5 characters.")
    description: str = Field(max_length=DESCRIPTION_MAX, description="Markdown; at least 10 characters.")
    category: Category
    impact: Level | None = Field(None, description="How much of your business is affected. Required when your plan "
                                                   "computes the priority from impact and urgency (GET /org: "
                                                   "plan.priority_scheme matrix).")
    urgency: Level | None = Field(None, description="How soon it hurts. Required like impact.")
    priority: Priority | None = Field(None, description="Overrides the priority computed from impact and urgency "
                                                        "(matrix plans only).")
    severity: Priority | None = Field(None, description="Plans with severity levels: the chosen level, by the "
                                                        "priority it stands for (P1-P4). Required on those plans.")
    severity_confirmed: bool = Field(False, description="Confirms the problem is none of the cases the chosen "
                                                        "severity level is never for; needed for such a level.")
    steps_to_reproduce: str | None = Field(None, max_length=STEPS_MAX,
                                           description="Required for technical issues (at least 10 characters).")
    affected_user: str | None = Field(None, max_length=200,
                                      description="The user account that sees the problem; required for technical "
                                                  "issues. Never a password.")


class IdempotencyHeaders(BaseModel):
    idempotency_key: str | None = Field(None, alias="Idempotency-Key", min_length=1, max_length=200,
                                        description="A unique value per ticket (a UUID): a retry with the same key "
                                                    "and body returns the same ticket.")


class TicketListQuery(BaseModel):
    status: list[Status] | None = Field(None, description="Repeat to combine.")
    category: Category | None = None
    priority: Priority | None = None
    updated_since: AwareDatetime | None = Field(None, description="Only tickets changed after this time.")
    cursor: str | None = Field(None, max_length=100, description="next_cursor of the previous page.")
    limit: int = Field(20, ge=1, le=100)


class ReplyIn(_In):
    body: str = Field(max_length=REPLY_MAX, description="Markdown.")
    internal: bool = Field(False, description="Agents only: a note customers never see.")


class ReopenIn(_In):
    reason: str | None = Field(None, max_length=REPLY_MAX, description="What is still not working.")


class PriorityRequestIn(_In):
    priority: Priority = Field(description="The priority you ask for: one your plan lets you choose (on plans "
                                           "with severity levels, a level's priority).")
    reason: str = Field(max_length=2000, description="Why the ticket needs it; the agent decides on it.")


class PriorityRequestOut(BaseModel):
    id: int
    current: Priority = Field(description="The ticket's priority when asked.")
    requested: Priority
    reason: str
    requested_by: str
    created_at: datetime
    decision: Literal["accepted", "declined"] | None = Field(description="null while an agent has not decided.")
    decided_by: str | None
    decided_at: datetime | None
    decline_reason: str | None


class AttachmentsIn(BaseModel):
    files: list[BaseFile] = Field(description="One or more files, checked as on the ticket page: screenshots, "
                                              "PDF, text logs and ZIP archives.")


class SlaClock(BaseModel):
    kind: Literal["first_response", "resolution", "update"]
    due: datetime
    left_seconds: int = Field(description="Time left (business time, unless the target is in calendar hours); "
                                          "negative when overdue.")
    paused: bool
    at_risk: bool
    overdue: bool


class AttachmentOut(BaseModel):
    id: int
    filename: str
    content_type: str = Field(description="Detected from the content, not from the name.")
    size: int = Field(description="In bytes.")
    url: str = Field(description="The file through the API (GET with your token).")


class MessageOut(BaseModel):
    id: int
    author: str
    body: str
    internal: bool
    created_at: datetime
    channel: Channel = Field(description="How it reached us: web (the portal's pages), email or api "
                                         "(phone, chat and visit: tickets an agent filed for the customer).")
    attachments: list[AttachmentOut]


class EventOut(BaseModel):
    at: datetime
    kind: str
    by: str | None
    old: str | None
    new: str | None
    reason: str | None


class TicketOut(BaseModel):
    reference: str
    subject: str
    category: Category
    status: Status
    priority: Priority
    priority_computed: Priority
    impact: Level | None = Field(description="null on plans that do not ask for it (severity levels, a fixed priority).")
    urgency: Level | None
    evaluation: str | None = Field(description="Feature requests: under_review, planned, declined or shipped.")
    created_at: datetime
    updated_at: datetime
    first_response_due: datetime | None
    first_response_at: datetime | None
    resolution_due: datetime | None
    next_update_due: datetime | None = Field(
        description="After the first response, while the ticket is with the support team: when the plan promises "
                    "the next update (null when the plan promises none).")
    best_effort: bool = Field(description="Served on a best-effort basis: no guaranteed response time, no clock.")
    auto_close_at: datetime | None = Field(
        description="While waiting on the customer, or solved and awaiting confirmation: when it closes by itself.")
    channel: Channel = Field(description="How the ticket was filed: web (the portal's form), email (mail to "
                                         "support), api, or phone, chat, visit (an agent filed it on the "
                                         "customer's behalf).")
    url: str = Field(description="The ticket's page in the portal.")


class TicketDetail(TicketOut):
    description: str
    steps_to_reproduce: str | None
    affected_user: str | None
    organization: str
    requester: str
    sla: SlaClock | None = Field(description="The clock running now, as the ticket page shows it.")
    attachments: list[AttachmentOut] = Field(description="Files attached when filing or through the API.")
    messages: list[MessageOut]
    history: list[EventOut]
    priority_requests: list[PriorityRequestOut] = Field(description="The customer's requests for another priority "
                                                                    "and the agents' decisions, oldest first.")


class TicketPage(BaseModel):
    items: list[TicketOut]
    next_cursor: str | None
    next: str | None = Field(description="The URL of the next page, or null.")


class AttachmentsOut(BaseModel):
    attachments: list[AttachmentOut]


# --- the organization -------------------------------------------------------------------

class TargetOut(BaseModel):
    applies_to: str = Field(description="A priority (P1-P4), a category, or \"any\".")
    due_minutes: int = Field(description="Business minutes: the promise.")
    expected_minutes: int | None = Field(description="For a range: the usual time.")


class OpeningHours(BaseModel):
    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]]
    opens: str
    closes: str


class SupportHoursOut(BaseModel):
    always: bool = Field(description="24x7x365.")
    timezone: str
    windows: list[OpeningHours]
    holidays: str | None = Field(description="Closed on the public holidays of this country (and region).")


class SeverityLevelOut(BaseModel):
    priority: Priority = Field(description="What to send as severity when filing.")
    name: str
    definition: str
    not_for: list[str] = Field(description="Cases this level is never for: filing with it needs severity_confirmed.")


class PlanOut(BaseModel):
    """The plan in force today (the organization's day)."""

    key: str
    name: str
    summary: str
    started_on: date = Field(description="The first day of this plan in the organization's plan history.")
    ends_on: date | None = Field(description="Its last day (included); null: until further notice.")
    trial: bool
    channels: list[str]
    onboarding: str
    tickets_per_month: int | None
    response_targets: list[TargetOut]
    resolution_targets: list[TargetOut]
    support_hours: SupportHoursOut
    priority_scheme: Literal["matrix", "severity", "fixed"] = Field(
        description="matrix: send impact and urgency; severity: send severity (one of severity_levels); "
                    "fixed: every ticket gets fixed_priority.")
    severity_levels: list[SeverityLevelOut]
    fixed_priority: Priority | None
    technical_issue_requires: list[str] = Field(description="What a technical issue must carry: "
                                                            "steps_to_reproduce, affected_user.")


class QuotaOut(BaseModel):
    used: int
    limit: int | None = Field(description="null: unlimited.")
    left: int | None
    month: str
    resets_at: datetime


class HoursOut(BaseModel):
    period_start: date
    period_end: date = Field(description="The last day of the contract period.")
    bought_minutes: int
    used_minutes: int
    left_minutes: int
    state: Literal["ok", "low", "exhausted"]


class PlanEntryOut(BaseModel):
    """One entry of an organization's plan history."""

    id: int
    plan: str = Field(description="The plan's key in the plans file.")
    name: str = Field(description="The plan's name (the key when the plans file no longer has it).")
    starts_on: date = Field(description="The first day, in the organization's time zone.")
    ends_on: date | None = Field(description="The last day, included; null: open-ended.")
    trial: bool
    note: str | None
    set_by: str | None = Field(description="The email of the admin who set it; null from the command line.")
    created_at: datetime


class NextChangeOut(BaseModel):
    on: date = Field(description="The first day on which another plan applies.")
    plan: PlanEntryOut | None = Field(description="The entry in force from then; null: no plan from that day.")


class PlanHistoryOut(BaseModel):
    go_live: date = Field(description="When support started; the onboarding weeks count from it.")
    in_force: int | None = Field(description="The id of the entry in force today, or null.")
    next_change: NextChangeOut | None = Field(description="What changes next; null when nothing is planned.")
    entries: list[PlanEntryOut] = Field(description="Oldest first.")


class PlanChangeIn(_In):
    """A plan from a day. An open-ended plan running then ends the day before; any other overlap is a 409."""

    plan: str = Field(min_length=1, max_length=80, description="A plan's key in the plans file.")
    starts_on: date = Field(description="The first day, in the organization's time zone.")
    ends_on: date | None = Field(default=None, description="The last day, included. Default: open-ended, or the "
                                                            "plan's own validity (valid_months).")
    trial: bool = Field(default=False, description="A trial needs ends_on.")
    note: str | None = Field(default=None, max_length=200)


class OrgOut(BaseModel):
    name: str
    timezone: str
    go_live: date = Field(description="When support started; the onboarding weeks count from it.")
    plan: PlanOut | None = Field(description="The plan in force today; null when none is.")
    next_change: NextChangeOut | None = Field(description="What changes next in the plan history; null: nothing.")
    quota: QuotaOut | None
    hours: HoursOut | None = Field(description="Customer admins only, as on the organization page.")


# --- onboarding --------------------------------------------------------------------------

class SessionOut(BaseModel):
    id: int
    starts_at: datetime
    ends_at: datetime
    status: str
    expert: str
    feature_area: str
    url: str


class WeekOut(BaseModel):
    number: int
    starts_at: datetime
    ends_at: datetime
    state: Literal["booked", "held", "missed", "not_booked", "week_over"]
    session: SessionOut | None


class OnboardingOut(BaseModel):
    included: bool = Field(description="false when the plan has no onboarding program.")
    sessions_included: int
    session_minutes: int
    premium: bool
    starts_at: datetime | None
    ends_at: datetime | None
    booked: int
    finished: bool
    feedback_given: bool
    weeks: list[WeekOut]
    extra_sessions: list[SessionOut]
