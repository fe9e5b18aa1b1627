"""The command line. Modules here parse options, call one service and render the result.

Only typer and the standard library are imported at module level: `agentcal --help` must not
pay for sqlmodel, langchain, googleapiclient or apscheduler (tests/cli/test_startup.py).
"""
