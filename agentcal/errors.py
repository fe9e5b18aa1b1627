"""Domain exceptions. The CLI turns any of these into a one-line message and exit code 1."""


class AgentcalError(Exception):
    """Base of every expected failure: bad input, missing data, configuration problems."""

    exit_code = 1


class ValidationError(AgentcalError):
    """Input that does not satisfy the data rules; nothing was written."""


class NotFoundError(AgentcalError):
    """The requested record does not exist (for this user)."""


class ConflictError(AgentcalError):
    """The change would break a uniqueness or ownership rule."""


class ConfigError(AgentcalError):
    """A setting is missing or unusable (bad database URL, unreadable secrets file...)."""


class BudgetExceededError(AgentcalError):
    """Today's spend has reached AGENTCAL_DAILY_BUDGET_USD."""


class ExternalServiceError(AgentcalError):
    """A remote service (LLM, calendar) failed in a way the user should hear about."""
