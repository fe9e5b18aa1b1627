"""What goes on the calendar: preferences (`preferences`, with their days and weeks in
`recurrence`), insight -> preference (`from_insights`), the emitter (`emitter`, the seed's
`CalendarEventEmitter`: the pure `planner` with its `placement` rules, and `event_store`, its
reads and writes), events (`events`) and pushing them to the person's calendar (`push`).

May import: `agentcal.health` (alerts), `agentcal.users` (each person's zone and calendar),
`agentcal.queue` (calendar_sync jobs), `agentcal.calendars`, and the store and settings.
"""
