"""A client of modelreg written from the generated Python stubs alone, as a client team would:
register, read, update with an etag, find by filter, refuse a stale etag, and deregister.
Usage: client.py HOST:PORT (the stubs' folder on PYTHONPATH). Exits non-zero on any surprise."""

import sys
import uuid

import grpc
from google.protobuf import field_mask_pb2

from modelregistry.v1 import discovery_pb2, discovery_pb2_grpc
from modelregistry.v1 import registration_pb2, registration_pb2_grpc
from modelregistry.v1 import resources_pb2


def main(address: str) -> None:
    channel = grpc.insecure_channel(address)
    registration = registration_pb2_grpc.ModelRegistrationServiceStub(channel)
    discovery = discovery_pb2_grpc.ModelDiscoveryServiceStub(channel)
    name = f"python-client-{uuid.uuid4().hex[:8]}"

    model = resources_pb2.ModelRelatedInformation(
        model_id=resources_pb2.ModelId(model_name=name, model_version="1"),
        description="registered by the generated Python client",
        model_information=resources_pb2.ModelInformation(
            metadata=resources_pb2.Metadata(author="python"),
            input_data_type=["pdcpBytesDl"],
            output_data_type=["qoe"],
            target_environment=[
                resources_pb2.TargetEnvironment(
                    platform_name="kserve", environment_type="onnx", dependency_list="numpy"
                )
            ],
        ),
        labels={"team": "ran"},
    )
    created = registration.RegisterModel(
        registration_pb2.RegisterModelRequest(
            model_related_information=model, request_id=str(uuid.uuid4())
        ),
        timeout=10,
    )
    assert created.model_registration_id and created.etag, created
    assert created.model_information.target_environment[0].platform_name == "kserve", created

    read = registration.GetModelRegistration(
        registration_pb2.GetModelRegistrationRequest(
            model_registration_id=created.model_registration_id
        ),
        timeout=10,
    )
    assert read == created, (read, created)

    edit = resources_pb2.ModelRelatedInformation(
        model_registration_id=created.model_registration_id,
        description="updated",
        etag=created.etag,
    )
    updated = registration.UpdateModelRegistration(
        registration_pb2.UpdateModelRegistrationRequest(
            model_related_information=edit,
            update_mask=field_mask_pb2.FieldMask(paths=["description"]),
        ),
        timeout=10,
    )
    assert updated.description == "updated" and updated.etag != created.etag, updated

    found = discovery.ListModels(
        discovery_pb2.ListModelsRequest(filter=f'labels.team = "ran" AND model_id.model_name = "{name}"'),
        timeout=10,
    )
    assert [m.model_registration_id for m in found.models] == [created.model_registration_id], found

    try:
        registration.DeleteModelRegistration(
            registration_pb2.DeleteModelRegistrationRequest(
                model_registration_id=created.model_registration_id, etag=created.etag
            ),
            timeout=10,
        )
        raise AssertionError("a stale etag was accepted")
    except grpc.RpcError as err:
        assert err.code() == grpc.StatusCode.ABORTED, err

    registration.DeleteModelRegistration(
        registration_pb2.DeleteModelRegistrationRequest(
            model_registration_id=created.model_registration_id, etag=updated.etag
        ),
        timeout=10,
    )
    try:
        registration.GetModelRegistration(
            registration_pb2.GetModelRegistrationRequest(
                model_registration_id=created.model_registration_id
            ),
            timeout=10,
        )
        raise AssertionError("a deleted model was found")
    except grpc.RpcError as err:
        assert err.code() == grpc.StatusCode.NOT_FOUND, err
    print(f"python client: register, get, update, list, stale etag refused, delete: ok ({name})")


if __name__ == "__main__":
    main(sys.argv[1])
