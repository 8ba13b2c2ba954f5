"""First start: processes starting together end up with one JWT secret and one complaint key (issue #11,
item 14), kept in HAZARD_KEYS_DIR when it is set."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from hazard_registry.config import Settings

# Each process waits for the start file, then asks for both secrets at once: the race of a first start.
CHILD = """
import os, sys, time
from pathlib import Path
from hazard_registry.config import Settings
go = Path(sys.argv[1])
while not go.exists():
    time.sleep(0.001)
s = Settings(_env_file=None)
print(s.effective_jwt_secret, s.effective_complaint_keys[0])
"""


def test_processes_starting_together_hold_the_same_keys(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAZARD_")}
    for round_ in range(2):
        data = tmp_path / f"data{round_}"
        go = tmp_path / f"go{round_}"
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", CHILD, str(go)],
                env={**env, "HAZARD_DATA_DIR": str(data)},
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(10)
        ]
        time.sleep(1.5)  # let every interpreter reach the wait
        go.touch()
        outputs = {p.communicate(timeout=60)[0].strip() for p in procs}
        assert all(p.returncode == 0 for p in procs)
        assert len(outputs) == 1, f"round {round_}: {len(outputs)} different key sets"
        assert oct((data / "jwt-secret").stat().st_mode & 0o777) == "0o600"
        assert sorted(p.name for p in data.iterdir()) == ["complaint-key", "jwt-secret"], "no temporary left behind"


def test_keys_live_apart_from_the_data_when_told(tmp_path: Path):
    s = Settings(_env_file=None, data_dir=tmp_path / "data", keys_dir=tmp_path / "keys")
    secret, key = s.effective_jwt_secret, s.effective_complaint_keys
    assert (tmp_path / "keys" / "jwt-secret").read_text() == secret
    assert (tmp_path / "keys" / "complaint-key").read_text() == key[0]
    assert not (tmp_path / "data").exists() or not any((tmp_path / "data").iterdir())
    assert (
        Settings(_env_file=None, data_dir=tmp_path / "other", keys_dir=tmp_path / "keys").effective_jwt_secret == secret
    )
