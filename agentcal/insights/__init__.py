"""What agentcal learned about each person: insights (`user_insights`, the seed's
`UserInsightsService`) and the habits found in their own events (`patterns`).

May import: `agentcal.planning` (an insight's preference type), `agentcal.users`, and the
store and settings. Turning an insight into a calendar preference is planning's first step
(`agentcal.planning.from_insights`), so planning never imports this package.
"""
