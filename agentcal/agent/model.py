"""The chat model: ChatOpenAI for OpenAI or any OpenAI-compatible server, else the offline model."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from agentcal.agent.offline import OfflineChatModel
    from agentcal.quick_settings import AnySettings

    # What the graph and the runner drive: LangChain's chat models, or the offline model (a
    # plain Runnable with the same callbacks, invoke and bind_tools).
    ChatModel = BaseChatModel | OfflineChatModel


def make_chat_model(settings: AnySettings) -> ChatModel:
    """ChatOpenAI with timeout, retries and streamed usage; the offline model without key or URL."""
    if settings.uses_offline_model:
        from agentcal.agent.offline import OfflineChatModel

        return OfflineChatModel(timezone=settings.timezone)
    from langchain_openai import ChatOpenAI

    key = settings.openai_api_key
    return ChatOpenAI(
        model=settings.model,
        # Local servers ignore the key, but the client requires one.
        api_key=key if key is not None else "not-needed",  # type: ignore[arg-type]
        base_url=settings.openai_base_url,
        timeout=settings.llm_timeout,
        max_retries=settings.llm_max_retries,
        stream_usage=True,
    )


def model_label(model: ChatModel) -> str:
    """The configured model name, for the banner and the reserved row."""
    for attr in ("model_name", "model"):
        value = getattr(model, attr, None)
        if isinstance(value, str):
            return value
    return type(model).__name__
