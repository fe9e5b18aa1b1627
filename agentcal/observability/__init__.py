"""What the agent did and what it cost: recording each turn (`calls`, the seed's
`AgentObservabilityService`), prices (`pricing`), spend reports (`costs`), reading turns back
(`call_log`) and repricing stored calls (`reprice`); a report's figures are in `usage`.

May import: `agentcal.users` (a chat session's name), the store and settings, and
`agentcal.otel`. The agent, the MCP server and the CLI import this package; no domain does.
"""
