"""The seed's name for `agentcal.insights.user_insights` (what agentcal learned)."""

from agentcal.insights.user_insights import UserInsightsService, user_insights_service

__all__ = ["UserInsightsService", "user_insights_service"]
