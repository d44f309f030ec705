"""The incident timeline's event kinds and how a duty officer reads them."""

from __future__ import annotations

from dispatch_console.kernel.i18n import N_, _

EVENT_LABELS: dict[str, str] = {
    "created": N_("Incident recorded"),
    "acknowledged": N_("Incident acknowledged"),
    "dispatched": N_("Units dispatched"),
    "assigned": N_("More units sent"),
    "on_scene": N_("Units on scene"),
    "resolved": N_("Incident resolved"),
    "closed": N_("Incident closed"),
    "reopened": N_("Incident reopened"),
    "merged_into": N_("Merged as a duplicate into"),
    "merged_from": N_("Duplicate merged in"),
    "released": N_("Unit released"),
    "note": N_("Note added"),
    "updated": N_("Incident edited"),
    "escalation": N_("Escalation"),
    "deadline": N_("Deadline passed"),
    "checklist_attached": N_("Checklist attached"),
    "checklist_ticked": N_("Checklist step done"),
    "checklist_unticked": N_("Checklist step reopened"),
    "handed_over": N_("Handed over to the next shift"),
    "questions_answered": N_("Call-taking questions answered"),
    "forces_proposed": N_("Recommended forces"),
    "transfer_sent": N_("Handed over to another duty room"),
    "transfer_status": N_("Transfer status from the other duty room"),
    "transfer_accepted": N_("Accepted from another duty room"),
}


def event_label(kind: str) -> str:
    """The translated label of a timeline event kind (the kind itself if unknown)."""
    return _(EVENT_LABELS[kind]) if kind in EVENT_LABELS else kind
