"""The seed's name for `agentcal.observability.calls` (recording agent calls)."""

from agentcal.observability.calls import AgentObservabilityService, agent_observability_service

__all__ = ["AgentObservabilityService", "agent_observability_service"]
