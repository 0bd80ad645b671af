"""Starting a process over /engine-rest (Camunda's POST /process-definition/key/{key}/start): by process id, with
start variables and a business key, which in this engine is the id of the record the instance runs on."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from engine.errors import NotFound, ValidationError
from engine.processes.spiff.runtime import refuse_unsavable
from engine.services.access import require_permission
from engine.services.instances import instance_view, start_version
from engine.services.records import refuse_merged
from engine.services.views import Actor, InstanceView
from engine.store.uow import UnitOfWork


def start_by_key(
    uow: UnitOfWork, actor: Actor, process_id: str, business_key: str | None, variables: dict[str, Any], now: datetime
) -> InstanceView:
    """Start the newest version of a process with start variables; `business_key` names its record (required for
    a process on an entity, refused for one without)."""
    require_permission(actor, "engine_rest.call", action="start processes over /engine-rest")
    refuse_unsavable(variables, "start variables")
    with uow:
        version = uow.config.latest_process(process_id)
        if version is None:
            raise NotFound(f"No matching process definition with key: {process_id}")
        record = None
        if version.entity:
            if business_key is None or not business_key.isdigit():
                raise ValidationError(
                    {
                        "businessKey": [
                            f"process {process_id} runs on a {version.entity} record: "
                            f"send its record id as businessKey, "
                            f"not {business_key!r}"
                        ]
                    }
                )
            record = uow.records.get(int(business_key))
            if record is None or record.entity != version.entity:
                raise ValidationError({"businessKey": [f"no {version.entity} record {business_key}"]})
            refuse_merged(record)
        elif business_key is not None:
            raise ValidationError(
                {
                    "businessKey": [
                        f"process {process_id} runs on no record: the business key here is the id of the record an "
                        "instance runs on, so leave it out"
                    ]
                }
            )
        instance = start_version(uow, actor, version, record, now, variables=variables)
        uow.commit()
        return instance_view(instance, version)
