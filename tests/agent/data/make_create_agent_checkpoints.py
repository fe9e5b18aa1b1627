"""How create_agent_checkpoints.sql was written: by the agent graph of 52c9101 (LangChain's
`create_agent` with agentcal's middleware), before agentcal built its own graph. Kept to show
what the threads hold; it needs that commit's code to mean anything:

    git archive 52c9101 | tar -x -C /tmp/old
    PYTHONPATH=/tmp/old python tests/agent/data/make_create_agent_checkpoints.py /tmp/cp.db
    # it ends the process in the middle of a tool call (the "crashed" thread), then:
    python tests/agent/data/make_create_agent_checkpoints.py --dump /tmp/cp.db \
        > tests/agent/data/create_agent_checkpoints.sql

Threads: "finished" (three turns: a created event, a listed day, a greeting), "settled" (a turn
whose model failed after its tool had created an event: the runner kept the call, its result and
a note), "crashed" (the process died while list_events ran: the model's call has no result).
"""

from __future__ import annotations

import os
import sqlite3
import sys
import tempfile
import time
from datetime import datetime
from zoneinfo import ZoneInfo

TZ = "Europe/Paris"
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=ZoneInfo(TZ))


def write(path: str) -> None:
    os.environ.update(AGENTCAL_HOME=tempfile.mkdtemp(), AGENTCAL_USER="alice", AGENTCAL_TIMEZONE=TZ)
    from langgraph.checkpoint.sqlite import SqliteSaver

    from agentcal.agent import offline, operations
    from agentcal.agent.runner import ChatRunner

    saver = SqliteSaver(sqlite3.connect(path, check_same_thread=False))

    def runner(thread: str) -> ChatRunner:
        model = offline.OfflineChatModel(timezone=TZ, fixed_now=NOW)
        chat = ChatRunner(model, user_id="alice", checkpointer=saver, clock=lambda: NOW)
        chat._thread_id = thread
        return chat

    finished = runner("finished")
    for text in ("lunch with Ana tomorrow at 1pm", "what's on tomorrow?", "hello"):
        assert finished.run_turn(text).ok

    def broken(*args: object, **kwargs: object) -> str:
        raise RuntimeError("the model broke")

    offline.summarise = broken  # the model's second call fails, after create_event ran
    turn = runner("settled").run_turn("dentist on Friday at 3pm")
    assert turn.status == "error" and turn.done, turn

    def killed(*args: object, **kwargs: object) -> None:
        time.sleep(1)  # the checkpoint of the model's call is written meanwhile
        os._exit(0)

    operations.list_events = killed
    runner("crashed").run_turn("what's on Friday?")


def dump(path: str) -> None:
    """The file as SQL, each thread's last checkpoint only (the one a conversation resumes
    from: each checkpoint holds the whole conversation)."""
    conn = sqlite3.connect(path)
    last = "SELECT max(checkpoint_id) FROM checkpoints GROUP BY thread_id"
    conn.execute(f"DELETE FROM checkpoints WHERE checkpoint_id NOT IN ({last})")
    conn.execute(f"DELETE FROM writes WHERE checkpoint_id NOT IN ({last})")
    conn.commit()
    conn.execute("VACUUM")
    for line in conn.iterdump():
        print(line)


if __name__ == "__main__":
    if sys.argv[1] == "--dump":
        dump(sys.argv[2])
    else:
        write(sys.argv[1])
