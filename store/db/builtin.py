"""The catalogue of HubSpot's standard objects, seeded into the store on ``db upgrade``.

Pure data: the standard objects (contacts, companies, deals, tickets), the activity objects
(notes, meetings, calls, emails, tasks), their default property groups and properties, and the
HubSpot-defined association types between them. Names, labels, options and type ids follow
HubSpot's so that records read the same in both systems.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from store.models import GroupSpec, OptionSpec, PropertySpec

__all__ = [
    "AUTOMATIC_PROPERTIES",
    "BUILTIN_ASSOCIATIONS",
    "BUILTIN_OBJECTS",
    "COUNT_PROPERTIES",
    "BuiltinAssociation",
    "BuiltinObject",
    "common_properties",
]


@dataclass(frozen=True)
class BuiltinObject:
    """One standard or activity object, with its default groups and properties."""

    name: str
    type_id: str
    singular_label: str
    plural_label: str
    primary_display_property: str
    required_properties: tuple[str, ...]
    searchable_properties: tuple[str, ...]
    secondary_display_properties: tuple[str, ...]
    activity: bool
    groups: tuple[GroupSpec, ...]
    properties: tuple[PropertySpec, ...]


@dataclass(frozen=True)
class BuiltinAssociation:
    """One direction of a HubSpot-defined association type.

    ``label`` is None for the default (unlabelled) type; ``inverse_type_id`` is the type id of
    the opposite direction (a self-pair such as company↔company points at itself).
    """

    from_object: str
    to_object: str
    type_id: int
    label: str | None
    inverse_type_id: int
    name: str | None


# Names whose values the store computes from record columns at read time.
AUTOMATIC_PROPERTIES = frozenset(
    {"hs_object_id", "createdate", "hs_lastmodifieddate", "lastmodifieddate"}
)

# Counts of associated records the store keeps (property -> counted object); 0 until set.
COUNT_PROPERTIES = {"num_associated_contacts": "contacts", "num_associated_deals": "deals"}


# --- helpers -----------------------------------------------------------------------------------


def _prop(
    name: str, label: str, group: str, type_: str, field_type: str, **kw: Any
) -> PropertySpec:
    return PropertySpec(
        name=name, label=label, type=type_, field_type=field_type, group=group, **kw
    )


def _text(name: str, label: str, group: str, **kw: Any) -> PropertySpec:
    return _prop(name, label, group, "string", "text", **kw)


def _textarea(name: str, label: str, group: str, **kw: Any) -> PropertySpec:
    return _prop(name, label, group, "string", "textarea", **kw)


def _phone(name: str, label: str, group: str, **kw: Any) -> PropertySpec:
    return _prop(name, label, group, "string", "phonenumber", **kw)


def _number(name: str, label: str, group: str, **kw: Any) -> PropertySpec:
    return _prop(name, label, group, "number", "number", **kw)


def _datetime(name: str, label: str, group: str, **kw: Any) -> PropertySpec:
    return _prop(name, label, group, "datetime", "date", **kw)


def _bool(name: str, label: str, group: str, **kw: Any) -> PropertySpec:
    return _prop(name, label, group, "bool", "booleancheckbox", **kw)


def _options(pairs: Sequence[tuple[str, str]]) -> tuple[OptionSpec, ...]:
    return tuple(
        OptionSpec(value=value, label=label, display_order=i)
        for i, (value, label) in enumerate(pairs)
    )


def _enum(
    name: str,
    label: str,
    group: str,
    options: Sequence[tuple[str, str]],
    field_type: str = "select",
    **kw: Any,
) -> PropertySpec:
    return _prop(name, label, group, "enumeration", field_type, options=_options(options), **kw)


def _owner(group: str, label: str) -> PropertySpec:
    # Options come from the owners table, not from the definition.
    return _enum("hubspot_owner_id", label, group, ())


def _activity_dates(group: str) -> tuple[PropertySpec, ...]:
    """The read-only dates HubSpot keeps up to date from a record's logged activities."""
    return (
        _datetime("notes_last_contacted", "Last Contacted", group, read_only=True),
        _datetime("notes_last_updated", "Last Activity Date", group, read_only=True),
        _datetime("notes_next_activity_date", "Next Activity Date", group, read_only=True),
    )


def _address(group: str) -> tuple[PropertySpec, ...]:
    return (
        _text("address", "Street Address", group),
        _text("city", "City", group),
        _text("state", "State/Region", group),
        _text("zip", "Postal Code", group),
        _text("country", "Country/Region", group),
    )


def common_properties(group: str) -> tuple[PropertySpec, ...]:
    """The automatic, read-only properties every object (custom ones too) has."""
    return (
        _number("hs_object_id", "Record ID", group, read_only=True),
        _datetime("createdate", "Create Date", group, read_only=True),
        _datetime("hs_lastmodifieddate", "Last Modified Date", group, read_only=True),
    )


# --- shared option lists -----------------------------------------------------------------------

_LIFECYCLE_STAGES = (
    ("subscriber", "Subscriber"),
    ("lead", "Lead"),
    ("marketingqualifiedlead", "Marketing Qualified Lead"),
    ("salesqualifiedlead", "Sales Qualified Lead"),
    ("opportunity", "Opportunity"),
    ("customer", "Customer"),
    ("evangelist", "Evangelist"),
    ("other", "Other"),
)

_LEAD_STATUSES = (
    ("NEW", "New"),
    ("OPEN", "Open"),
    ("IN_PROGRESS", "In Progress"),
    ("OPEN_DEAL", "Open Deal"),
    ("UNQUALIFIED", "Unqualified"),
    ("ATTEMPTED_TO_CONTACT", "Attempted to Contact"),
    ("CONNECTED", "Connected"),
    ("BAD_TIMING", "Bad Timing"),
)

_INDUSTRIES = (
    ("ACCOUNTING", "Accounting"),
    ("AIRLINES_AVIATION", "Airlines/Aviation"),
    ("APPAREL_FASHION", "Apparel & Fashion"),
    ("BANKING", "Banking"),
    ("BIOTECHNOLOGY", "Biotechnology"),
    ("COMPUTER_SOFTWARE", "Computer Software"),
    ("CONSTRUCTION", "Construction"),
    ("EDUCATION_MANAGEMENT", "Education Management"),
    ("FINANCIAL_SERVICES", "Financial Services"),
    ("HOSPITAL_HEALTH_CARE", "Hospital & Health Care"),
    ("INFORMATION_TECHNOLOGY_AND_SERVICES", "Information Technology and Services"),
    ("INSURANCE", "Insurance"),
    ("INTERNET", "Internet"),
    ("MARKETING_AND_ADVERTISING", "Marketing and Advertising"),
    ("REAL_ESTATE", "Real Estate"),
    ("RETAIL", "Retail"),
    ("TELECOMMUNICATIONS", "Telecommunications"),
)

_COMPANY_TYPES = (
    ("PROSPECT", "Prospect"),
    ("PARTNER", "Partner"),
    ("RESELLER", "Reseller"),
    ("VENDOR", "Vendor"),
    ("OTHER", "Other"),
)

_DEAL_STAGES = (
    ("appointmentscheduled", "Appointment Scheduled"),
    ("qualifiedtobuy", "Qualified To Buy"),
    ("presentationscheduled", "Presentation Scheduled"),
    ("decisionmakerboughtin", "Decision Maker Bought-In"),
    ("contractsent", "Contract Sent"),
    ("closedwon", "Closed Won"),
    ("closedlost", "Closed Lost"),
)

_LOW_MEDIUM_HIGH = (("LOW", "Low"), ("MEDIUM", "Medium"), ("HIGH", "High"))


# --- standard objects --------------------------------------------------------------------------

_C = "contactinformation"
_C_ACT = "contact_activity"
_C_SALES = "sales_properties"

CONTACTS = BuiltinObject(
    name="contacts",
    type_id="0-1",
    singular_label="Contact",
    plural_label="Contacts",
    primary_display_property="email",
    required_properties=(),
    searchable_properties=("email", "firstname", "lastname", "phone", "mobilephone", "company"),
    secondary_display_properties=("firstname", "lastname"),
    activity=False,
    groups=(
        GroupSpec(_C, "Contact information", 0),
        GroupSpec(_C_SALES, "Sales properties", 1),
        GroupSpec(_C_ACT, "Contact activity", 2),
    ),
    properties=(
        *common_properties(_C),
        _datetime("lastmodifieddate", "Last Modified Date", _C, read_only=True),
        _text("email", "Email", _C, format="email", unique=True),
        _textarea("hs_additional_emails", "Additional email addresses", _C, read_only=True),
        _text("hs_email_domain", "Email Domain", _C, read_only=True),
        _text("firstname", "First Name", _C),
        _text("lastname", "Last Name", _C),
        _text("salutation", "Salutation", _C),
        _phone("phone", "Phone Number", _C),
        _phone("mobilephone", "Mobile Phone Number", _C),
        _phone("fax", "Fax Number", _C),
        _text("company", "Company Name", _C),
        _text("jobtitle", "Job Title", _C),
        _text("website", "Website URL", _C),
        *_address(_C),
        _textarea("message", "Message", _C),
        _enum("lifecyclestage", "Lifecycle Stage", _C, _LIFECYCLE_STAGES, field_type="radio"),
        _enum("hs_lead_status", "Lead Status", _C_SALES, _LEAD_STATUSES, field_type="radio"),
        _owner(_C_SALES, "Contact owner"),
        _number("associatedcompanyid", "Primary Associated Company ID", _C_SALES, read_only=True),
        _number("num_associated_deals", "Number of Associated Deals", _C_SALES, read_only=True),
        *_activity_dates(_C_ACT),
        _number("num_contacted_notes", "Number of times contacted", _C_ACT, read_only=True),
    ),
)

_CO = "companyinformation"
_CO_ACT = "company_activity"

COMPANIES = BuiltinObject(
    name="companies",
    type_id="0-2",
    singular_label="Company",
    plural_label="Companies",
    primary_display_property="name",
    required_properties=(),
    searchable_properties=("name", "domain", "website", "phone"),
    secondary_display_properties=("domain",),
    activity=False,
    groups=(
        GroupSpec(_CO, "Company information", 0),
        GroupSpec(_CO_ACT, "Company activity", 1),
    ),
    properties=(
        *common_properties(_CO),
        _text("name", "Company name", _CO),
        _text("domain", "Company Domain Name", _CO, format="domain", unique=True),
        _textarea("hs_additional_domains", "Additional Domains", _CO),
        _text("website", "Website URL", _CO),
        _phone("phone", "Phone Number", _CO),
        *_address(_CO),
        _text("timezone", "Time Zone", _CO),
        _enum("industry", "Industry", _CO, _INDUSTRIES),
        _number("numberofemployees", "Number of Employees", _CO),
        _number("annualrevenue", "Annual Revenue", _CO),
        _text("founded_year", "Year Founded", _CO),
        _bool("is_public", "Is Public", _CO),
        _textarea("description", "Description", _CO),
        _text("linkedin_company_page", "LinkedIn Company Page", _CO),
        _enum("lifecyclestage", "Lifecycle Stage", _CO, _LIFECYCLE_STAGES, field_type="radio"),
        _enum("type", "Type", _CO, _COMPANY_TYPES),
        _owner(_CO, "Company owner"),
        _number("hs_parent_company_id", "Parent Company", _CO, read_only=True),
        _number("hs_num_child_companies", "Number of child companies", _CO, read_only=True),
        _number(
            "num_associated_contacts", "Number of Associated Contacts", _CO_ACT, read_only=True
        ),
        _number("num_associated_deals", "Number of Associated Deals", _CO_ACT, read_only=True),
        *_activity_dates(_CO_ACT),
    ),
)

_D = "dealinformation"
_D_ACT = "deal_activity"

DEALS = BuiltinObject(
    name="deals",
    type_id="0-3",
    singular_label="Deal",
    plural_label="Deals",
    primary_display_property="dealname",
    required_properties=("dealname", "dealstage"),
    searchable_properties=("dealname",),
    secondary_display_properties=("amount", "dealstage"),
    activity=False,
    groups=(
        GroupSpec(_D, "Deal information", 0),
        GroupSpec(_D_ACT, "Deal activity", 1),
    ),
    properties=(
        *common_properties(_D),
        _text("dealname", "Deal Name", _D),
        _number("amount", "Amount", _D),
        _number("amount_in_home_currency", "Amount in company currency", _D, read_only=True),
        _enum("pipeline", "Pipeline", _D, (("default", "Sales Pipeline"),)),
        _enum("dealstage", "Deal Stage", _D, _DEAL_STAGES),
        _number("hs_deal_stage_probability", "Deal probability", _D, read_only=True),
        _number("hs_forecast_amount", "Forecast amount", _D, read_only=True),
        _bool("hs_is_closed", "Is Deal Closed?", _D, read_only=True),
        _bool("hs_is_closed_won", "Is Closed Won", _D, read_only=True),
        _datetime("closedate", "Close Date", _D),
        _enum(
            "dealtype",
            "Deal Type",
            _D,
            (("newbusiness", "New Business"), ("existingbusiness", "Existing Business")),
        ),
        _textarea("description", "Deal Description", _D),
        _textarea("hs_next_step", "Next step", _D),
        _textarea("closed_won_reason", "Closed won reason", _D),
        _textarea("closed_lost_reason", "Closed lost reason", _D),
        _enum(
            "hs_priority",
            "Priority",
            _D,
            (("low", "Low"), ("medium", "Medium"), ("high", "High")),
        ),
        _owner(_D, "Deal owner"),
        _number("num_associated_contacts", "Number of Associated Contacts", _D_ACT, read_only=True),
        _number("num_contacted_notes", "Number of times contacted", _D_ACT, read_only=True),
        *_activity_dates(_D_ACT),
    ),
)

_T = "ticketinformation"
_T_ACT = "ticket_activity"

TICKETS = BuiltinObject(
    name="tickets",
    type_id="0-5",
    singular_label="Ticket",
    plural_label="Tickets",
    primary_display_property="subject",
    required_properties=("subject", "hs_pipeline_stage"),
    searchable_properties=("subject", "content"),
    secondary_display_properties=("hs_pipeline_stage", "hs_ticket_priority"),
    activity=False,
    groups=(
        GroupSpec(_T, "Ticket information", 0),
        GroupSpec(_T_ACT, "Ticket activity", 1),
    ),
    properties=(
        *common_properties(_T),
        _text("subject", "Ticket name", _T),
        _textarea("content", "Ticket description", _T),
        _enum("hs_pipeline", "Pipeline", _T, (("0", "Support Pipeline"),)),
        _enum(
            "hs_pipeline_stage",
            "Ticket status",
            _T,
            (
                ("1", "New"),
                ("2", "Waiting on contact"),
                ("3", "Waiting on us"),
                ("4", "Closed"),
            ),
        ),
        _enum("hs_ticket_priority", "Priority", _T, (*_LOW_MEDIUM_HIGH, ("URGENT", "Urgent"))),
        _enum(
            "hs_ticket_category",
            "Category",
            _T,
            (
                ("PRODUCT_ISSUE", "Product issue"),
                ("BILLING_ISSUE", "Billing issue"),
                ("FEATURE_REQUEST", "Feature request"),
                ("GENERAL_INQUIRY", "General inquiry"),
            ),
        ),
        _enum(
            "source_type",
            "Source",
            _T,
            (("EMAIL", "Email"), ("CHAT", "Chat"), ("PHONE", "Phone"), ("FORM", "Form")),
        ),
        _owner(_T, "Ticket owner"),
        _textarea("hs_resolution", "Resolution", _T),
        _datetime("closed_date", "Close date", _T),
        _number("time_to_close", "Time to close", _T, read_only=True),
        _datetime("first_agent_reply_date", "First agent email reply date", _T_ACT, read_only=True),
        _datetime("last_reply_date", "Last response date", _T_ACT, read_only=True),
        _number(
            "time_to_first_agent_reply", "Time to first agent email reply", _T_ACT, read_only=True
        ),
        _number("num_contacted_notes", "Number of times contacted", _T_ACT, read_only=True),
        *_activity_dates(_T_ACT),
    ),
)


# --- activity objects --------------------------------------------------------------------------

_E = "engagement"
_ENGAGEMENT_GROUP = GroupSpec(_E, "Activity information", 0)


def _activity(
    name: str,
    type_id: str,
    singular: str,
    plural: str,
    primary: str,
    searchable: tuple[str, ...],
    group: GroupSpec,
    timestamp_label: str,
    owner_label: str,
    properties: tuple[PropertySpec, ...],
) -> BuiltinObject:
    return BuiltinObject(
        name=name,
        type_id=type_id,
        singular_label=singular,
        plural_label=plural,
        primary_display_property=primary,
        required_properties=("hs_timestamp",),
        searchable_properties=searchable,
        secondary_display_properties=("hs_timestamp",),
        activity=True,
        groups=(_ENGAGEMENT_GROUP, group),
        properties=(
            *common_properties(_E),
            _datetime("hs_timestamp", timestamp_label, _E),
            _owner(_E, owner_label),
            *properties,
        ),
    )


_N = "note_information"

NOTES = _activity(
    "notes",
    "0-46",
    "Note",
    "Notes",
    "hs_note_body",
    ("hs_note_body",),
    GroupSpec(_N, "Note information", 1),
    "Activity date",
    "Activity assigned to",
    (
        _textarea("hs_note_body", "Note body", _N),
        _text("hs_attachment_ids", "Attached file IDs", _N),
        _textarea("hs_body_preview", "Body preview", _N, read_only=True),
        _number("hs_created_by_user_id", "Created by user ID", _E, read_only=True),
        _number("hs_modified_by", "Updated by user ID", _E, read_only=True),
    ),
)

_M = "meeting_information"

MEETINGS = _activity(
    "meetings",
    "0-47",
    "Meeting",
    "Meetings",
    "hs_meeting_title",
    ("hs_meeting_title", "hs_meeting_body"),
    GroupSpec(_M, "Meeting information", 1),
    "Activity date",
    "Activity assigned to",
    (
        _text("hs_meeting_title", "Meeting name", _M),
        _textarea("hs_meeting_body", "Meeting description", _M),
        _textarea("hs_internal_meeting_notes", "Internal notes", _M),
        _text("hs_meeting_location", "Location", _M),
        _text("hs_meeting_external_url", "External URL", _M),
        _datetime("hs_meeting_start_time", "Start time", _M),
        _datetime("hs_meeting_end_time", "End time", _M),
        _enum(
            "hs_meeting_outcome",
            "Meeting outcome",
            _M,
            (
                ("SCHEDULED", "Scheduled"),
                ("COMPLETED", "Completed"),
                ("RESCHEDULED", "Rescheduled"),
                ("NO_SHOW", "No show"),
                ("CANCELED", "Canceled"),
            ),
        ),
        _text("hs_attachment_ids", "Attached file IDs", _M),
    ),
)

_CA = "call_information"

CALLS = _activity(
    "calls",
    "0-48",
    "Call",
    "Calls",
    "hs_call_title",
    ("hs_call_title", "hs_call_body"),
    GroupSpec(_CA, "Call information", 1),
    "Activity date",
    "Activity assigned to",
    (
        _text("hs_call_title", "Call title", _CA),
        _textarea("hs_call_body", "Call notes", _CA),
        _enum(
            "hs_call_direction",
            "Call direction",
            _CA,
            (("INBOUND", "Inbound"), ("OUTBOUND", "Outbound")),
        ),
        # HubSpot's default call outcomes, keyed by their fixed GUIDs.
        _enum(
            "hs_call_disposition",
            "Call outcome",
            _CA,
            (
                ("9d9162e7-6cf3-4944-bf63-4dff82258764", "Busy"),
                ("f240bbac-87c9-4f6e-bf70-924b57d47db7", "Connected"),
                ("a4c4c377-d246-4b32-a13b-75a56a4cd0ff", "Left live message"),
                ("b2cf5968-551e-4856-9783-52b3da59a7d0", "Left voicemail"),
                ("73a0d17f-1163-4015-bdd5-ec830791da20", "No answer"),
                ("17b47fee-58de-441e-a44c-c6300d46f273", "Wrong number"),
            ),
        ),
        _number("hs_call_duration", "Call duration", _CA, description="In milliseconds."),
        _enum(
            "hs_call_status",
            "Call status",
            _CA,
            (
                ("BUSY", "Busy"),
                ("CALLING_CRM_USER", "Calling CRM user"),
                ("CANCELED", "Canceled"),
                ("COMPLETED", "Completed"),
                ("CONNECTING", "Connecting"),
                ("FAILED", "Failed"),
                ("IN_PROGRESS", "In progress"),
                ("NO_ANSWER", "No answer"),
                ("QUEUED", "Queued"),
                ("RINGING", "Ringing"),
            ),
        ),
        _text("hs_call_from_number", "From number", _CA),
        _text("hs_call_to_number", "To number", _CA),
        _text("hs_call_recording_url", "Recording URL", _CA),
    ),
)

_EM = "email_information"

EMAILS = _activity(
    "emails",
    "0-49",
    "Email",
    "Emails",
    "hs_email_subject",
    ("hs_email_subject", "hs_email_text"),
    GroupSpec(_EM, "Email information", 1),
    "Activity date",
    "Activity assigned to",
    (
        _text("hs_email_subject", "Email subject", _EM),
        _textarea("hs_email_text", "Email body", _EM),
        _textarea("hs_email_html", "Email HTML body", _EM),
        _enum(
            "hs_email_direction",
            "Email direction",
            _EM,
            (
                ("EMAIL", "Sent email"),
                ("INCOMING_EMAIL", "Reply email"),
                ("FORWARDED_EMAIL", "Forwarded email"),
            ),
        ),
        _enum(
            "hs_email_status",
            "Email send status",
            _EM,
            (
                ("BOUNCED", "Bounced"),
                ("FAILED", "Failed"),
                ("SCHEDULED", "Scheduled"),
                ("SENDING", "Sending"),
                ("SENT", "Sent"),
            ),
        ),
        _textarea("hs_email_headers", "Email headers", _EM),
        _text("hs_email_from_email", "From email", _EM, read_only=True),
        _text("hs_email_to_email", "To email", _EM, read_only=True),
        _text("hs_attachment_ids", "Attached file IDs", _EM),
    ),
)

_TA = "task_information"

TASKS = _activity(
    "tasks",
    "0-27",
    "Task",
    "Tasks",
    "hs_task_subject",
    ("hs_task_subject", "hs_task_body"),
    GroupSpec(_TA, "Task information", 1),
    "Due date",
    "Assigned to",
    (
        _text("hs_task_subject", "Task Title", _TA),
        _textarea("hs_task_body", "Notes", _TA),
        _enum(
            "hs_task_status",
            "Task Status",
            _TA,
            (
                ("COMPLETED", "Completed"),
                ("NOT_STARTED", "Not started"),
                ("IN_PROGRESS", "In progress"),
                ("WAITING", "Waiting"),
                ("DEFERRED", "Deferred"),
            ),
        ),
        _enum("hs_task_priority", "Priority", _TA, (("NONE", "None"), *_LOW_MEDIUM_HIGH)),
        _enum(
            "hs_task_type",
            "Task Type",
            _TA,
            (("EMAIL", "Email"), ("CALL", "Call"), ("TODO", "To-do")),
        ),
        _text("hs_task_reminders", "Reminder", _TA, description="`;`-separated epoch millis."),
        _datetime("hs_task_completion_date", "Completed at", _TA, read_only=True),
    ),
)


BUILTIN_OBJECTS: tuple[BuiltinObject, ...] = (
    CONTACTS,
    COMPANIES,
    DEALS,
    TICKETS,
    NOTES,
    MEETINGS,
    CALLS,
    EMAILS,
    TASKS,
)


# --- associations ------------------------------------------------------------------------------


def _pair(
    a: str,
    b: str,
    a_to_b: int,
    b_to_a: int,
    label_a_to_b: str | None = None,
    label_b_to_a: str | None = None,
    name_a_to_b: str | None = None,
    name_b_to_a: str | None = None,
) -> tuple[BuiltinAssociation, BuiltinAssociation]:
    """Both directions of one association type; labels default to None (unlabelled)."""
    return (
        BuiltinAssociation(a, b, a_to_b, label_a_to_b, b_to_a, name_a_to_b),
        BuiltinAssociation(b, a, b_to_a, label_b_to_a, a_to_b, name_b_to_a),
    )


# (activity object, contact, company, deal, ticket): type ids from the object to the activity;
# the activity-to-object id is always one more.
_ACTIVITY_TYPE_IDS: tuple[tuple[str, int, int, int, int], ...] = (
    ("notes", 201, 189, 213, 227),
    ("tasks", 203, 191, 215, 229),
    ("calls", 193, 181, 205, 219),
    ("emails", 197, 185, 209, 223),
    ("meetings", 199, 187, 211, 225),
)


def _activity_associations() -> tuple[BuiltinAssociation, ...]:
    out: list[BuiltinAssociation] = []
    for activity, *ids in _ACTIVITY_TYPE_IDS:
        for obj, type_id in zip(("contacts", "companies", "deals", "tickets"), ids, strict=True):
            out.extend(_pair(obj, activity, type_id, type_id + 1))
    return tuple(out)


BUILTIN_ASSOCIATIONS: tuple[BuiltinAssociation, ...] = (
    # contacts ↔ companies
    *_pair("contacts", "companies", 279, 280),
    *_pair("contacts", "companies", 1, 2, "Primary", "Primary", "PRIMARY", "PRIMARY"),
    # contacts ↔ contacts: the unlabelled self-pair (admins add labels such as Manager/Employee)
    BuiltinAssociation("contacts", "contacts", 449, None, 449, None),
    # deals ↔ contacts
    *_pair("deals", "contacts", 3, 4),
    # deals ↔ companies
    *_pair("deals", "companies", 341, 342),
    *_pair("deals", "companies", 5, 6, "Primary", "Primary", "PRIMARY", "PRIMARY"),
    # contacts ↔ tickets
    *_pair("contacts", "tickets", 15, 16),
    # companies ↔ tickets
    *_pair("companies", "tickets", 340, 339),
    # deals ↔ tickets
    *_pair("deals", "tickets", 27, 28),
    # companies ↔ companies: the unlabelled self-pair, and parent/child
    BuiltinAssociation("companies", "companies", 450, None, 450, None),
    *_pair(
        "companies",
        "companies",
        13,
        14,
        "Child Company",
        "Parent Company",
        "PARENT_TO_CHILD_COMPANY",
        "CHILD_TO_PARENT_COMPANY",
    ),
    # activities ↔ contacts, companies, deals, tickets
    *_activity_associations(),
)
