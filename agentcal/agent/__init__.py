"""The chat agent: model factory, offline model, tools, prompt, graph and turn recorder.

Nothing here imports typer or rich; the CLI (`agentcal.cli.chat`) drives it through
`agentcal.agent.runner.ChatRunner`.
"""
