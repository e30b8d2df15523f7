"""The SDK's whole API, served by its api_server.py with every check on, driven over real gRPC
as a user of a local stand-in would: the shapes the classification newly recognises (KMS keys
named by `key_id`, managed databases named by a cluster and a name, lockbox secrets, compute
images), each family of actions (access bindings, Move, Start/Stop/Restart, listing the
resources that name one), references between resources, and lifecycles through their
transitional statuses. Requests are built from the descriptors (examples.RequestBuilder), with
the fields each step is about given by name.
"""

from __future__ import annotations

import time
from typing import Any, Iterator

import grpc
import pytest
from google.protobuf import json_format
from google.protobuf.message import Message

from examples import RequestBuilder
from round_trips import Messages
from support import ServerProcess
from whole_api import ApiSource, GeneratedApi, report

FOLDER, OTHER_FOLDER = "b1gfolder000000000001", "b1gfolder000000000002"
VPC = "yandex.cloud.vpc.v1"
PG = "yandex.cloud.mdb.postgresql.v1"
KMS = "yandex.cloud.kms.v1"
COMPUTE = "yandex.cloud.compute.v1"
VIEWER = {"roleId": "viewer", "subject": {"id": "u1", "type": "userAccount"}}
EDITOR = {"roleId": "editor", "subject": {"id": "u2", "type": "userAccount"}}


class Client:
    """Calls rpcs of the whole API by service and method name, with requests built from the
    descriptors and the given fields set (nested ones as JSON-like dicts)."""

    def __init__(self, generated: GeneratedApi, channel: grpc.Channel) -> None:
        self.api = generated.model
        self.messages = Messages(generated.source.files)
        self.builder = RequestBuilder(self.api)
        self.channel = channel
        self.calls = 0

    def request(self, service: str, method: str, **fields: Any) -> Message:
        found = self.api.service(service)
        assert found is not None, service
        rpc = found.method(method)
        assert rpc is not None, f"{service}.{method}"
        message = self.messages.new(rpc.input)
        self.builder.fill(message, skip=set(fields))
        json_format.ParseDict(fields, message)
        return message

    def call(
        self, service: str, method: str, request: Message | None = None, **fields: Any
    ) -> Any:
        """The rpc's answer; for an Operation, the operation's response once it is done."""
        rpc = self.api.service(service).method(method)  # type: ignore[union-attr]
        assert rpc is not None
        request = request or self.request(service, method, **fields)
        stub = self.channel.unary_unary(
            f"/{service}/{method}",
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=lambda data: self._parse(rpc.output, data),
        )
        self.calls += 1
        answer = stub(request, timeout=30)
        if rpc.output != "yandex.cloud.operation.Operation":
            return answer
        assert answer.done and not answer.HasField("error"), answer
        assert rpc.operation is not None
        response = self.messages.new(rpc.operation.response)
        answer.response.Unpack(response)
        return response

    def fails(
        self, code: grpc.StatusCode, service: str, method: str, **fields: Any
    ) -> str:
        """The details of the error the call answers, which must have `code`."""
        with pytest.raises(grpc.RpcError) as raised:
            self.call(service, method, **fields)
        error: Any = raised.value
        assert error.code() is code, error.details()
        return str(error.details())

    def _parse(self, name: str, data: bytes) -> Message:
        message = self.messages.new(name)
        message.ParseFromString(data)
        return message

    def status(self, message: Message) -> str:
        """The name of a resource's `status` value."""
        field = message.DESCRIPTOR.fields_by_name["status"]
        return str(field.enum_type.values_by_number[message.status].name)


@pytest.fixture(scope="module")
def generated(api_source: ApiSource, request: pytest.FixtureRequest) -> GeneratedApi:
    if api_source.label != "sdk":
        pytest.skip("driven on the SDK's API: the corpus slice has other services")
    found: GeneratedApi = request.getfixturevalue("generated_api")
    return found


@pytest.fixture(scope="module")
def client(generated: GeneratedApi) -> Iterator[Client]:
    server = ServerProcess(generated.root, "--db", ":memory:").start()
    try:
        with grpc.insecure_channel(server.address) as channel:
            client = Client(generated, channel)
            yield client
            report(generated.source, "family calls", client.calls)
    finally:
        server.stop()


def new_network(client: Client, folder: str = FOLDER) -> Any:
    return client.call(f"{VPC}.NetworkService", "Create", folder_id=folder, name="net")


def new_cluster(client: Client) -> Any:
    return client.call(f"{PG}.ClusterService", "Create", folderId=FOLDER, name="pg")


# --- shapes ---------------------------------------------------------------------------------


def test_a_kms_key_is_deleted_by_its_key_id_and_rotate_creates_nothing(
    client: Client,
) -> None:
    keys = f"{KMS}.SymmetricKeyService"
    key = client.call(keys, "Create", folder_id=FOLDER, name="k1")
    assert client.call(keys, "Get", key_id=key.id) == key
    client.call(keys, "Delete", key_id=key.id)
    client.fails(grpc.StatusCode.NOT_FOUND, keys, "Get", key_id=key.id)
    client.fails(grpc.StatusCode.NOT_FOUND, keys, "Delete", key_id=key.id)
    details = client.fails(grpc.StatusCode.UNIMPLEMENTED, keys, "Rotate", key_id=key.id)
    assert f"/{keys}/Rotate" in details or "Rotate" in details
    listed = client.call(keys, "List", folder_id=FOLDER)
    assert [k.id for k in listed.keys] == []


def test_managed_databases_are_named_by_their_cluster_and_their_name(
    client: Client,
) -> None:
    databases = f"{PG}.DatabaseService"
    cluster = new_cluster(client)
    assert client.status(cluster) == "RUNNING"
    created = client.call(
        databases,
        "Create",
        cluster_id=cluster.id,
        database_spec={"name": "db1", "owner": "u"},
    )
    assert (created.cluster_id, created.name) == (cluster.id, "db1")
    assert (
        client.call(databases, "Get", cluster_id=cluster.id, database_name="db1")
        == created
    )
    client.fails(
        grpc.StatusCode.ALREADY_EXISTS,
        databases,
        "Create",
        cluster_id=cluster.id,
        database_spec={"name": "db1", "owner": "u"},
    )
    client.fails(
        grpc.StatusCode.NOT_FOUND,
        databases,
        "Create",
        cluster_id="c9qmissing",
        database_spec={"name": "db1", "owner": "u"},
    )
    client.call(
        databases,
        "Create",
        cluster_id=cluster.id,
        database_spec={"name": "db2", "owner": "u"},
    )
    listed = client.call(databases, "List", cluster_id=cluster.id)
    assert [d.name for d in listed.databases] == ["db1", "db2"]
    client.call(databases, "Delete", cluster_id=cluster.id, database_name="db1")
    client.fails(
        grpc.StatusCode.NOT_FOUND,
        databases,
        "Get",
        cluster_id=cluster.id,
        database_name="db1",
    )
    # Deleting the cluster deletes what its key begins with.
    client.call(f"{PG}.ClusterService", "Delete", cluster_id=cluster.id)
    client.fails(
        grpc.StatusCode.NOT_FOUND,
        databases,
        "Get",
        cluster_id=cluster.id,
        database_name="db2",
    )


def test_a_virtual_host_is_named_by_its_router_which_it_does_not_record(
    client: Client,
) -> None:
    alb = "yandex.cloud.apploadbalancer.v1"
    hosts = f"{alb}.VirtualHostService"
    routers = [
        client.call(f"{alb}.HttpRouterService", "Create", folder_id=FOLDER, name=name)
        for name in ("router-one", "router-two")
    ]
    for router in routers:  # one name in two routers: two virtual hosts
        client.call(hosts, "Create", http_router_id=router.id, name="web")
    first, second = (r.id for r in routers)
    found = client.call(hosts, "Get", http_router_id=first, virtual_host_name="web")
    assert found.name == "web"
    client.fails(
        grpc.StatusCode.ALREADY_EXISTS,
        hosts,
        "Create",
        http_router_id=first,
        name="web",
    )
    client.fails(
        grpc.StatusCode.NOT_FOUND,
        hosts,
        "Create",
        http_router_id="ds7missing",
        name="web",
    )
    listed = client.call(hosts, "List", http_router_id=second)
    assert [h.name for h in listed.virtual_hosts] == ["web"]
    client.call(hosts, "Delete", http_router_id=second, virtual_host_name="web")
    client.fails(
        grpc.StatusCode.NOT_FOUND,
        hosts,
        "Get",
        http_router_id=second,
        virtual_host_name="web",
    )
    assert client.call(hosts, "Get", http_router_id=first, virtual_host_name="web")
    # Deleting the router deletes the virtual hosts keyed by it.
    client.call(f"{alb}.HttpRouterService", "Delete", http_router_id=first)
    client.fails(
        grpc.StatusCode.NOT_FOUND,
        hosts,
        "Get",
        http_router_id=first,
        virtual_host_name="web",
    )


def test_a_lockbox_secret_is_active_and_keeps_access_bindings(client: Client) -> None:
    secrets = "yandex.cloud.lockbox.v1.SecretService"
    secret = client.call(secrets, "Create", folder_id=FOLDER, name="s1")
    assert client.status(secret) == "ACTIVE"
    assert client.status(client.call(secrets, "Get", secret_id=secret.id)) == "ACTIVE"
    listed = client.call(secrets, "ListAccessBindings", resource_id=secret.id)
    assert list(listed.access_bindings) == []
    client.call(
        secrets, "SetAccessBindings", resource_id=secret.id, access_bindings=[VIEWER]
    )
    client.call(
        secrets,
        "UpdateAccessBindings",
        resource_id=secret.id,
        access_binding_deltas=[{"action": "ADD", "accessBinding": EDITOR}],
    )
    listed = client.call(secrets, "ListAccessBindings", resource_id=secret.id)
    assert sorted(b.role_id for b in listed.access_bindings) == ["editor", "viewer"]
    client.fails(
        grpc.StatusCode.NOT_FOUND,
        secrets,
        "ListAccessBindings",
        resource_id="e6qmissing",
    )


def test_a_compute_image_is_ready(client: Client) -> None:
    images = f"{COMPUTE}.ImageService"
    image = client.call(
        images, "Create", folder_id=FOLDER, name="img", uri="https://example.com/i"
    )
    assert client.status(image) == "READY"
    assert client.call(images, "Get", image_id=image.id) == image


# --- actions --------------------------------------------------------------------------------


def test_an_instance_stops_and_starts_from_the_right_statuses_only(
    client: Client,
) -> None:
    instances = f"{COMPUTE}.InstanceService"
    instance = client.call(
        instances,
        "Create",
        folder_id=FOLDER,
        zone_id="ru-central1-a",
        platform_id="standard-v3",
    )
    assert client.status(instance) == "RUNNING"
    client.fails(
        grpc.StatusCode.FAILED_PRECONDITION, instances, "Start", instance_id=instance.id
    )
    client.call(instances, "Stop", instance_id=instance.id)  # answers Empty
    assert (
        client.status(client.call(instances, "Get", instance_id=instance.id))
        == "STOPPED"
    )
    client.fails(
        grpc.StatusCode.FAILED_PRECONDITION,
        instances,
        "Restart",
        instance_id=instance.id,
    )
    assert (
        client.status(client.call(instances, "Start", instance_id=instance.id))
        == "RUNNING"
    )
    client.call(instances, "Restart", instance_id=instance.id)
    assert (
        client.status(client.call(instances, "Get", instance_id=instance.id))
        == "RUNNING"
    )


def test_a_network_lists_its_subnets_and_references_are_checked(client: Client) -> None:
    network = new_network(client)
    subnets = f"{VPC}.SubnetService"
    subnet = client.call(
        subnets,
        "Create",
        folder_id=FOLDER,
        network_id=network.id,
        zone_id="ru-central1-a",
        v4_cidr_blocks=["10.0.0.0/24"],
    )
    listed = client.call(f"{VPC}.NetworkService", "ListSubnets", network_id=network.id)
    assert [s.id for s in listed.subnets] == [subnet.id]
    details = client.fails(
        grpc.StatusCode.NOT_FOUND,
        subnets,
        "Create",
        folder_id=FOLDER,
        network_id="enpmissing",
        zone_id="ru-central1-a",
        v4_cidr_blocks=["10.0.1.0/24"],
    )
    assert "enpmissing" in details
    details = client.fails(
        grpc.StatusCode.FAILED_PRECONDITION,
        f"{VPC}.NetworkService",
        "Delete",
        network_id=network.id,
    )
    assert subnet.id in details
    client.call(subnets, "Delete", subnet_id=subnet.id)
    client.call(f"{VPC}.NetworkService", "Delete", network_id=network.id)


def test_an_action_the_server_leaves_to_a_subclass_says_what_to_do(
    client: Client,
) -> None:
    details = client.fails(
        grpc.StatusCode.UNIMPLEMENTED,
        f"{COMPUTE}.InstanceService",
        "AttachDisk",
        instance_id="x",
    )
    assert "AttachDisk" in details


def test_a_disk_moves_to_another_folder_and_its_bindings_change_by_deltas(
    client: Client,
) -> None:
    disks = f"{COMPUTE}.DiskService"
    disk = client.call(
        disks, "Create", folder_id=FOLDER, zone_id="ru-central1-a", size=4 << 30
    )
    moved = client.call(
        disks, "Move", disk_id=disk.id, destination_folder_id=OTHER_FOLDER
    )
    assert moved.folder_id == OTHER_FOLDER
    assert disk.id in [
        d.id for d in client.call(disks, "List", folder_id=OTHER_FOLDER).disks
    ]
    assert disk.id not in [
        d.id for d in client.call(disks, "List", folder_id=FOLDER).disks
    ]
    client.call(
        disks, "SetAccessBindings", resource_id=disk.id, access_bindings=[VIEWER]
    )
    result = client.call(
        disks,
        "UpdateAccessBindings",
        resource_id=disk.id,
        access_binding_deltas=[
            {"action": "ADD", "accessBinding": EDITOR},
            {"action": "ADD", "accessBinding": VIEWER},  # there already: no effect
            {"action": "REMOVE", "accessBinding": VIEWER},
        ],
    )
    assert [(d.action, d.access_binding.role_id) for d in result.effective_deltas] == [
        (1, "editor"),
        (2, "viewer"),
    ]
    listed = client.call(disks, "ListAccessBindings", resource_id=disk.id)
    assert [b.role_id for b in listed.access_bindings] == ["editor"]


# --- lifecycles -----------------------------------------------------------------------------


def test_delayed_operations_show_the_transitional_statuses(
    generated: GeneratedApi,
) -> None:
    """Under an operation delay an instance is PROVISIONING, then RUNNING; a Stop shows
    STOPPING, then STOPPED; a Start STARTING, then RUNNING."""
    server = ServerProcess(
        generated.root, "--db", ":memory:", "--operation-delay", "0.5"
    ).start()
    instances = f"{COMPUTE}.InstanceService"
    try:
        with grpc.insecure_channel(server.address) as channel:
            client = Client(generated, channel)

            def begin(method: str, **fields: Any) -> str:
                """Calls the rpc; returns the instance's id from the operation's metadata."""
                stub = channel.unary_unary(
                    f"/{instances}/{method}",
                    request_serializer=lambda m: m.SerializeToString(),
                )
                request = client.request(instances, method, **fields)
                operation = client._parse(
                    "yandex.cloud.operation.Operation", stub(request, timeout=30)
                )
                assert not operation.done
                metadata = client.messages.new(
                    f"yandex.cloud.compute.v1.{method}InstanceMetadata"
                )
                operation.metadata.Unpack(metadata)
                return str(metadata.instance_id)

            def statuses(instance_id: str, until: str) -> list[str]:
                """The statuses Get shows, without repeats, until `until`."""
                seen = [""]
                deadline = time.monotonic() + 20
                while seen[-1] != until:
                    assert time.monotonic() < deadline, f"never {until}: {seen}"
                    got = client.call(instances, "Get", instance_id=instance_id)
                    if client.status(got) != seen[-1]:
                        seen.append(client.status(got))
                    time.sleep(0.05)
                return seen[1:]

            instance_id = begin(
                "Create",
                folder_id=FOLDER,
                zone_id="ru-central1-a",
                platform_id="standard-v3",
            )
            assert statuses(instance_id, "RUNNING") == ["PROVISIONING", "RUNNING"]
            begin("Stop", instance_id=instance_id)
            client.fails(
                grpc.StatusCode.FAILED_PRECONDITION,
                instances,
                "Start",
                instance_id=instance_id,
            )
            assert statuses(instance_id, "STOPPED") == ["STOPPING", "STOPPED"]
            begin("Start", instance_id=instance_id)
            assert statuses(instance_id, "RUNNING") == ["STARTING", "RUNNING"]
    finally:
        server.stop()
