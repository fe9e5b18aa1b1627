"""The durable job queue in the store: enqueue (`jobs`, with `job_queue`), what workers do with
a lease (`leases`: claim, complete, fail and retry, release, reap), inspection and maintenance
(`maintenance`), the raw DBAPI fast path under them (`raw`), and the one job shape other
packages build (`calendar_sync`).

May import: the store and settings only. It knows no domain: a job's kind and payload are data.
"""
