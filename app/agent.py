"""帮办代办 and 优先办 on an intake.

An agent (代办人) acts for the applicant: their own name, ID number (checked with the same rules
as the applicant's), phone and relation are kept with the intake, encrypted at rest like the
applicant's, and printed on the documents; while an agent acts, the checklist asks for the power
of attorney (授权委托书) and the agent's ID card (app.checklist.AGENT_MATERIALS).

优先办 marks an intake for the elderly (60 and over: offered from the applicant's birth date) or
the disabled (marked by the clerk); the queue, the ledger and the receipt show it.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from app.capture.cardtypes import CARD_TYPE_NAMES, RESIDENT, check_document
from app.clock import local_day
from app.errors import IntakeError
from app.intake_base import IntakeBase
from app.validators import check_mobile
from app.views import StaffView
from local_db.models import Agent, Applicant

log = logging.getLogger("intake.agent")

# How the agent stands to the applicant (a closed list: the ledger and the hub count by it).
RELATIONS = {
    "spouse": "配偶",
    "child": "子女",
    "parent": "父母",
    "relative": "其他亲属",
    "helper": "帮办代办员",
    "employee": "单位工作人员",
    "other": "其他受托人",
}
PRIORITIES = {"elderly": "老年人（60周岁及以上）", "disabled": "残疾人"}
# What the fields are called in the catalog's messages ({label}, {who}, {what}), by field.
LABELS = {
    "agent.name": "代办人",
    "agent.resident_id": "代办人证件号码",
    "agent.phone": "代办人联系电话",
    "agent.relation": "代办人与申请人的关系",
    "priority": "优先办类型",
}
ELDERLY_AGE = 60
MAX_NAME = 64


@dataclass(frozen=True)
class AgentInput:
    name: str
    resident_id: str
    phone: str
    relation: str  # a key of RELATIONS
    document_type: str = RESIDENT


@dataclass(frozen=True)
class AgentView:
    name: str
    resident_id: str
    phone: str
    relation: str
    document_type: str = RESIDENT

    @property
    def relation_label(self) -> str:
        return RELATIONS.get(self.relation, self.relation)


def age_on(birth: dt.date, day: dt.date) -> int:
    """Full years on DAY (a 29 February birthday counts from 1 March in common years)."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def suggested_priority(birth: dt.date | None, day: dt.date) -> str:
    """ "elderly" when the applicant is 60 or older on DAY, else "" (disabled is the clerk's)."""
    return "elderly" if birth is not None and age_on(birth, day) >= ELDERLY_AGE else ""


def clean_agent(data: AgentInput, today: dt.date) -> AgentInput:
    """Normalised fields, or IntakeError naming the field (never the number itself)."""
    name = " ".join(data.name.split())
    if not name or len(name) > MAX_NAME:
        raise IntakeError("person.name", field="agent.name", who=LABELS["agent.name"])
    if data.document_type not in CARD_TYPE_NAMES:
        raise IntakeError("applicant.document_type", field="agent.document_type")
    check = check_document(data.document_type, data.resident_id, today)
    if not check.valid:
        raise IntakeError(
            "applicant.resident_id",
            field="agent.resident_id",
            reason=check.code,
            label=LABELS["agent.resident_id"],
            problem=check.message,  # the validator's text (the number itself is not in it)
        )
    phone = check_mobile(data.phone)
    if not phone.valid:
        raise IntakeError(
            "applicant.phone",
            field="agent.phone",
            reason=phone.code,
            label=LABELS["agent.phone"],
            problem=phone.message,
        )
    if data.relation not in RELATIONS:
        raise IntakeError(
            "choice.unknown",
            field="agent.relation",
            what=LABELS["agent.relation"],
            given=data.relation[:32],
        )
    return AgentInput(
        name, check.normalized or "", phone.normalized or "", data.relation, data.document_type
    )


class AgentService(IntakeBase):
    """The agent and the priority of an intake, one transaction and one event each."""

    def set_agent(self, actor: StaffView, sid: str, data: AgentInput | None) -> AgentView | None:
        """Record (or with None remove) the agent acting for the applicant."""
        now = self._clock.now()
        clean = clean_agent(data, local_day(now)) if data is not None else None
        with self._tx() as s:
            sub, state = self._load(s, sid)
            applicant = s.get(Applicant, sub.applicant_id) if sub.applicant_id else None
            same = applicant is not None and (applicant.resident_id or "").upper()
            if clean is not None and same == clean.resident_id.upper():
                raise IntakeError("agent.is_applicant", field="agent.resident_id")
            row = s.get(Agent, sid)
            if clean is None:
                if row is None:
                    return None
                s.delete(row)
                self._event(s, sub, state, actor, "agent_set", {"agent": None})
                log.info("intake %s: agent removed", sub.number or sid)
                return None
            if row is None:
                row = Agent(submission_id=sid, created_at=now)
                s.add(row)
            row.name, row.resident_id, row.phone = clean.name, clean.resident_id, clean.phone
            row.relation, row.document_type, row.updated_at = (
                clean.relation,
                clean.document_type,
                now,
            )
            row.resident_id_bidx = self._key.blind("resident_id", clean.resident_id.upper())
            payload = {
                "agent": {
                    "name": clean.name,
                    "resident_id": clean.resident_id,
                    "document_type": clean.document_type,
                    "phone": clean.phone,
                    "relation": clean.relation,
                }
            }
            self._event(s, sub, state, actor, "agent_set", payload)  # payload encrypted at rest
            log.info("intake %s: agent recorded", sub.number or sid)
            return _view(row)

    def agent(self, sid: str) -> AgentView | None:
        with self._sessions() as s:
            row = s.get(Agent, sid)
            return _view(row) if row is not None else None

    def set_priority(self, actor: StaffView, sid: str, priority: str) -> None:
        """优先办: "elderly", "disabled" or "" (none)."""
        if priority and priority not in PRIORITIES:
            raise IntakeError(
                "choice.unknown", field="priority", what=LABELS["priority"], given=priority[:16]
            )
        with self._tx() as s:
            sub, state = self._load(s, sid)
            if sub.priority == priority:
                return
            self._event(s, sub, state, actor, "priority_set", {"priority": priority})
            sub.priority = priority

    def priority(self, sid: str) -> str:
        with self._sessions() as s:
            sub, _ = self._load(s, sid)
            return sub.priority

    def suggestion(self, sid: str) -> str:
        """What to offer the clerk: "elderly" for an applicant of 60 or more, else ""."""
        with self._sessions() as s:
            sub, _ = self._load(s, sid)
            applicant = s.get(Applicant, sub.applicant_id) if sub.applicant_id else None
            if applicant is None or applicant.kind != "personal":
                return ""
            return suggested_priority(applicant.birth_date, local_day(self._clock.now()))


def _view(row: Agent) -> AgentView:
    return AgentView(row.name, row.resident_id, row.phone, row.relation, row.document_type)
