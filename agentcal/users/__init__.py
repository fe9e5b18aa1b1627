"""The people on one installation: each one's profile (`profiles`: the service; `profile`: a
row resolved against the installation's settings; `checks`: its fields' validation), what they
own and its removal (`removal`), and their named chat sessions (`chat_sessions`).

May import: `agentcal.calendars` (a person's backend), `agentcal.queue`, and the store and
settings.
"""
