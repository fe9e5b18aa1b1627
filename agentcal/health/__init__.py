"""What `agentcal status` shows: worker heartbeats and the health report (`monitoring`), alerts
and their delivery (`alerts`), and each person's calendar sync health (`sync_health`).

May import: `agentcal.users`, `agentcal.queue`, and the store and settings.
"""
