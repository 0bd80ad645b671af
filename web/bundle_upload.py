"""Uploaded configuration files (a .zip bundle or single .bpmn/.dmn/.json/.yaml files) to bundle paths."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import PurePosixPath

from werkzeug.datastructures import FileStorage

from engine.config.yaml_lines import load_yaml
from engine.errors import ConfigError, Problem
from engine.messages import Message

FOLDERS = ("crm_model", "forms", "processes", "templates")
# a single .yaml goes by its naming key; pipelines, rules and reports also name an `entity`, so they are tried first
YAML_KINDS = {"pipeline": "pipelines", "rule": "rules", "report": "reports", "catalog": "catalogs",
              "entity": "entities"}
_TEMPLATE = re.compile(r"^[\w-]+\.[a-z]{2}\.txt$")  # an e-mail template: <name>.<locale>.txt
MAX_BUNDLE_BYTES = 20 * 1024 * 1024  # an uploaded zip may not unpack to more than this


def _decode(name: str, data: bytes, problems: list[Problem]) -> str | None:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        problems.append(Problem(name, None, None, Message("upload.not_utf8", at=exc.start)))
        return None


def place_file(name: str, text: str) -> str | None:
    """Where a single uploaded file goes in the bundle, by its extension (and for YAML, its content)."""
    base = PurePosixPath(name.replace("\\", "/")).name
    lower = base.lower()
    if lower.endswith((".bpmn", ".dmn")):
        return f"processes/{base}"
    if lower.endswith((".json", ".ui.yaml")):
        return f"forms/{base}"
    if lower == "settings.yaml":
        return "crm_model/settings.yaml"
    if lower.endswith((".yaml", ".yml")):
        try:
            data = load_yaml(text, name)  # bounded: a deep or alias-bomb upload is refused, not a crash
        except ConfigError:
            return None
        stem = base.rsplit(".", 1)[0]
        kind = next((key for key in YAML_KINDS if isinstance(data, dict) and key in data), None)
        return f"crm_model/{YAML_KINDS[kind]}/{stem}.yaml" if kind else None
    if _TEMPLATE.match(base):
        return f"templates/{base}"
    return None


def _zip_files(name: str, data: bytes, problems: list[Problem]) -> dict[str, str]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        problems.append(Problem(name, None, None, Message("upload.not_zip")))
        return {}
    members = [m for m in archive.infolist() if not m.is_dir()]
    if sum(m.file_size for m in members) > MAX_BUNDLE_BYTES:
        problems.append(Problem(name, None, None, Message("upload.too_large", mb=MAX_BUNDLE_BYTES // 2**20)))
        return {}
    paths = {m.filename: PurePosixPath(m.filename.replace("\\", "/")) for m in members}
    tops = {p.parts[0] for p in paths.values() if len(p.parts) > 1}
    strip = len(tops) == 1 and not tops & set(FOLDERS) and all(len(p.parts) > 1 for p in paths.values())
    files: dict[str, str] = {}
    for member in members:
        path = paths[member.filename]
        parts = path.parts[1:] if strip else path.parts
        if not parts or parts[0] not in FOLDERS or ".." in parts or path.is_absolute():
            continue  # README, demo data and the like are not configuration
        text = _decode(f"{name}:{member.filename}", archive.read(member), problems)
        if text is not None:
            files["/".join(parts)] = text
    if not files and not problems:
        problems.append(Problem(name, None, None, Message("upload.no_files",
                                                          folders=", ".join(f + "/" for f in FOLDERS))))
    return files


def uploaded_files(uploads: list[FileStorage]) -> tuple[dict[str, str], list[Problem]]:
    """Bundle paths → texts of everything uploaded, and the problems met reading it."""
    files: dict[str, str] = {}
    problems: list[Problem] = []
    for upload in uploads:
        name = upload.filename or "upload"
        data = upload.read()
        if name.lower().endswith(".zip"):
            files.update(_zip_files(name, data, problems))
            continue
        text = _decode(name, data, problems)
        if text is None:
            continue
        path = place_file(name, text)
        if path is None:
            problems.append(Problem(name, None, None, Message("upload.unknown_kind")))
        else:
            files[path] = text
    return files, problems
