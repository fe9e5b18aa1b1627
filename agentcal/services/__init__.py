"""The seed's names, kept so that its call sites work unchanged:

    from agentcal.services.agent_observability import agent_observability_service
    from agentcal.services.user_insights import user_insights_service
    from agentcal.services.calendar_event_emitter import calendar_event_emitter

Each module here only re-exports; the code lives in the domain packages (`agentcal.observability`,
`agentcal.insights`, `agentcal.planning`). agentcal itself imports those, never this package.
"""
