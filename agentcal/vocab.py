"""The seed's closed vocabularies. Kept free of heavy imports so the CLI can use them at start."""

INSIGHT_TYPES = ("preference", "habit", "pattern", "goal", "constraint")
INSIGHT_CATEGORIES = ("schedule", "meetings", "health", "work", "personal")
INSIGHT_SOURCES = ("agent", "pattern_analysis", "explicit")
# "event": a recurring appointment that is not a habit ("team standup every weekday at 9:30").
PREFERENCE_TYPES = ("gym", "sleep", "focus", "meal", "break", "meditation", "event")
AGENT_ACTIONS = ("create", "read", "update", "delete", "search", "schedule", "insight", "answer")
EVENT_STATUSES = ("planned", "confirmed", "cancelled", "unplaced")
JOB_STATES = ("queued", "running", "done", "dead")
JOB_KINDS = ("update_insight", "emit_preference_events", "calendar_sync")
COST_BREAKDOWNS = ("day", "model", "action", "user", "session")
CALL_STATUSES = ("ok", "error")
CALENDAR_BACKENDS = ("local", "google", "caldav", "none")
# The emitter's placement note for a block it left at its usual time (lists leave it out).
USUAL_TIME_NOTE = "at its usual time"

# The value field of an insight the user stopped ("I don't go to the gym anymore"): the date.
INSIGHT_ENDED = "ended_on"
