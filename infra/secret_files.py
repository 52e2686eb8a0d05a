"""Secrets from files: `NAME_FILE` holds the path of a file whose content is `NAME` (the
convention of Docker secrets and Kubernetes secret volumes)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from bot.errors import SettingsError


def secrets_from_files(names: Iterable[str], sources: Iterable[Mapping[str, str | None]]) -> dict[str, str]:
    """The secrets whose `NAME_FILE` is set, read from their files (one trailing newline dropped).

    `sources` are the places settings come from (the environment, `.env`), names compared
    without case as the settings are. Setting both `NAME` and `NAME_FILE` is an error naming
    both; so is a file that cannot be read, naming its path.
    """
    given: dict[str, str] = {}
    for source in sources:
        for key, value in source.items():
            if value is not None:
                given.setdefault(key.upper(), value)
    values: dict[str, str] = {}
    for name in names:
        variable = name.upper()
        file_variable = f"{variable}_FILE"
        path = given.get(file_variable)
        if path is None:
            continue
        if variable in given:
            raise SettingsError(f"{variable} and {file_variable} are both set: keep one of them")
        try:
            content = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise SettingsError(f"{file_variable}: no such file: {path}") from None
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or "not UTF-8 text"
            raise SettingsError(f"{file_variable}: cannot read {path} ({reason})") from None
        values[name] = content.removesuffix("\n").removesuffix("\r")
    return values
