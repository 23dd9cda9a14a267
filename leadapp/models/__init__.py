"""SQLAlchemy models, one module per aggregate. Importing this package registers them all."""

from .account import ROLES, Account, User
from .audit import AuditLog
from .base import AccountScoped
from .campaign import Campaign, Project
from .compliance import ApiToken, DoNotCallNumber
from .dedup import DedupGoldenChange, DedupJob, DedupMove
from .dialing import DialLease, DialSettings
from .fields import FieldDefinition, MappingTemplate
from .imports import Import
from .jobs import BackgroundJob
from .lead import Interaction, Lead
from .mail import EmailDelivery
from .pool import LeadPool, PoolAssignment, PoolBreakdown, SavedView
from .wrap_code import WrapCode

__all__ = [
    "ROLES",
    "Account",
    "ApiToken",
    "AccountScoped",
    "AuditLog",
    "BackgroundJob",
    "Campaign",
    "DedupGoldenChange",
    "DedupJob",
    "DedupMove",
    "DialLease",
    "DialSettings",
    "DoNotCallNumber",
    "EmailDelivery",
    "FieldDefinition",
    "Import",
    "Interaction",
    "Lead",
    "LeadPool",
    "MappingTemplate",
    "PoolAssignment",
    "PoolBreakdown",
    "Project",
    "SavedView",
    "User",
    "WrapCode",
]
