"""agentcal: a terminal calendar assistant that learns your habits."""

__version__ = "0.1.0"
