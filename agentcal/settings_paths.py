"""What the settings derive from their fields (the data dir and the files in it, the zone,
whether the offline model answers), shared by `Settings` and `QuickSettings` so that both
derive them one way."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from agentcal import basics
from agentcal.errors import ConfigError

_warned_dirs: set[str] = set()  # data dirs already warned about in this process


class SettingsPaths:
    """Properties over the fields `home`, `database_url`, `ics_path`, `google_token_file`,
    `openai_api_key`, `openai_base_url` and `timezone`."""

    if TYPE_CHECKING:  # the fields, declared by the classes that use this one
        home: Path | None
        database_url: str | None
        ics_path: Path | None
        google_token_file: Path | None
        openai_api_key: Any
        openai_base_url: str | None
        timezone: str

    @property
    def data_dir(self) -> Path:
        return basics.data_dir(self.home)

    @property
    def db_url(self) -> str:
        return basics.database_url(self.database_url, self.home)

    @property
    def ics_file(self) -> Path:
        return self.ics_path or self.data_dir / "calendar.ics"

    @property
    def checkpoint_path(self) -> Path:
        return self.data_dir / "checkpoints.db"

    @property
    def google_token_path(self) -> Path:
        return self.google_token_file or self.data_dir / "google-token.json"

    @property
    def uses_offline_model(self) -> bool:
        return self.openai_api_key is None and not self.openai_base_url

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def ensure_data_dir(self) -> Path:
        """Create the data dir (mode 0700) if needed and return it.

        An existing directory is never chmodded (it may be one agentcal did not make, such as
        a shared folder); when other users can write to it, a warning says how to fix it.
        """
        path = self.data_dir
        try:
            st = path.stat()
        except FileNotFoundError:
            try:
                path.mkdir(parents=True, mode=0o700, exist_ok=True)
                os.chmod(path, 0o700)  # made here: private whatever the umask
            except OSError as exc:
                raise ConfigError(
                    f"cannot create the data dir {path} ({exc.strerror}): set AGENTCAL_HOME to "
                    "a writable directory"
                ) from None
            return path
        except OSError as exc:  # a file on the way, a directory we may not enter
            raise ConfigError(
                f"cannot use the data dir {path} ({exc.strerror}): set AGENTCAL_HOME to a "
                "directory of yours"
            ) from None
        if not stat.S_ISDIR(st.st_mode):
            raise ConfigError(
                f"the data dir {path} is not a directory: set AGENTCAL_HOME to a directory"
            )
        if st.st_mode & 0o022 and str(path) not in _warned_dirs:
            _warned_dirs.add(str(path))
            logging.getLogger("agentcal.settings").warning(
                "warning: the data dir %s can be written by other users (mode %04o): "
                "run `chmod 700 %s`",
                path,
                stat.S_IMODE(st.st_mode),
                path,
            )
        return path
