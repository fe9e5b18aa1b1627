"""The seed's services. Each takes an optional SQLAlchemy engine (default: the configured store)
and an optional session for callers that batch several operations in one transaction."""
