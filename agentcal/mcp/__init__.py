"""`agentcal mcp`: the calendar as a Model Context Protocol server, with the official `mcp` SDK.

Outside agents (Claude Desktop, IDE assistants...) get the chat's own calendar operations for
one user fixed when the server starts. `server` (the SDK's server for one user), `tools` and
`resources` (what it offers), `recording` (every tool call recorded like a chat turn),
`transport` (stdio or HTTP). It imports the agent's operations and the domain packages below
them; only the CLI imports it, and the `mcp` SDK loads only with it.
"""
