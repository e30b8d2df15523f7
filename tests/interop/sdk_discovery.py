"""Runs in the official SDK's own virtualenv: finds every service of a server by the SDK's own
endpoint discovery alone (no `endpoints=`), as SDK users do, and calls a few.

    python sdk_discovery.py ADDRESS TOKEN ROOT_CERTIFICATE_FILE SERVICES_JSON

SERVICES_JSON lists the server's services as [proto file, service name] pairs. Prints one JSON
object with what it saw; the test checks it. Exits non-zero on a failed check.
"""

from __future__ import annotations

import importlib
import json
import sys

import grpc
import yandexcloud
from yandex.cloud.endpoint.api_endpoint_service_pb2 import ListApiEndpointsRequest
from yandex.cloud.endpoint.api_endpoint_service_pb2_grpc import ApiEndpointServiceStub
from yandex.cloud.mdb.postgresql.v1 import cluster_service_pb2 as postgresql
from yandex.cloud.mdb.postgresql.v1.cluster_service_pb2_grpc import (
    ClusterServiceStub,
)
from yandex.cloud.resourcemanager.v1 import (
    cloud_pb2,
    cloud_service_pb2,
    folder_pb2,
    folder_service_pb2,
)
from yandex.cloud.resourcemanager.v1.cloud_service_pb2_grpc import CloudServiceStub
from yandex.cloud.resourcemanager.v1.folder_service_pb2_grpc import FolderServiceStub
from yandex.cloud.vpc.v1 import network_pb2, network_service_pb2
from yandex.cloud.vpc.v1.network_service_pb2_grpc import NetworkServiceStub
from yandexcloud._sdk import _service_for_ctor  # the SDK's own id of a stub's module


def stub_of(proto_file: str, service: str) -> type:
    module = importlib.import_module(
        proto_file.removesuffix(".proto").replace("/", ".") + "_pb2_grpc"
    )
    return getattr(module, f"{service}Stub")


def main() -> None:
    address, token, certificate_file, services_file = sys.argv[1:5]
    with open(certificate_file, "rb") as handle:
        root_certificates = handle.read()
    with open(services_file) as handle:
        services = json.load(handle)
    sdk = yandexcloud.SDK(
        iam_token=token, endpoint=address, root_certificates=root_certificates
    )

    # Every service: the SDK's id for its module, and a client made by discovery alone (a
    # missing id is the SDK's KeyError, or its RuntimeError "Unknown service: ...").
    ids: dict[str, str] = {}
    without_id, not_found = [], []
    for proto_file, service in services:
        stub = stub_of(proto_file, service)
        name = f"{proto_file}: {service}"
        try:
            ids[name] = _service_for_ctor(stub)
        except RuntimeError:
            without_id.append(name)
            continue
        try:
            sdk.client(stub)
        except (KeyError, RuntimeError) as error:
            not_found.append(f"{name}: {ids[name]}: {type(error).__name__}: {error}")

    # The SDK's own discovery request, as it sends it: one List with no page size.
    listed = sdk.client(ApiEndpointServiceStub).List(ListApiEndpointsRequest())

    # resource-manager: a cloud, then a folder in it.
    cloud = sdk.wait_operation_and_get_result(
        sdk.client(CloudServiceStub).Create(
            cloud_service_pb2.CreateCloudRequest(
                organization_id="sdk-organization", name="sdk-cloud"
            )
        ),
        response_type=cloud_pb2.Cloud,
        meta_type=cloud_service_pb2.CreateCloudMetadata,
        timeout=30,
    )
    folders = sdk.client(FolderServiceStub)
    folder = sdk.wait_operation_and_get_result(
        folders.Create(
            folder_service_pb2.CreateFolderRequest(
                cloud_id=cloud.response.id, name="sdk-folder"
            )
        ),
        response_type=folder_pb2.Folder,
        meta_type=folder_service_pb2.CreateFolderMetadata,
        timeout=30,
    )
    folder_id = folder.response.id
    got_folder = folders.Get(folder_service_pb2.GetFolderRequest(folder_id=folder_id))
    assert got_folder == folder.response, (got_folder, folder.response)

    # vpc: a network in that folder, found again by Get and List.
    networks = sdk.client(NetworkServiceStub)
    network = sdk.wait_operation_and_get_result(
        networks.Create(
            network_service_pb2.CreateNetworkRequest(
                folder_id=folder_id, name="sdk-network", labels={"source": "sdk"}
            )
        ),
        response_type=network_pb2.Network,
        meta_type=network_service_pb2.CreateNetworkMetadata,
        timeout=30,
    )
    network_id = network.response.id
    got_network = networks.Get(
        network_service_pb2.GetNetworkRequest(network_id=network_id)
    )
    in_folder = networks.List(
        network_service_pb2.ListNetworksRequest(folder_id=folder_id)
    )

    # managed-postgresql: the folder's clusters (none), and a cluster that is not there.
    clusters = sdk.client(ClusterServiceStub)
    listed_clusters = clusters.List(postgresql.ListClustersRequest(folder_id=folder_id))
    try:
        clusters.Get(postgresql.GetClusterRequest(cluster_id="c9qmissing"))
        missing_cluster = "OK"
    except grpc.RpcError as error:
        missing_cluster = error.code().name

    print(
        json.dumps(
            {
                "services": len(services),
                "sdk_ids": sorted(set(ids.values())),
                "found": len(ids) - len(not_found),
                "not_found": not_found,
                "without_sdk_id": without_id,
                "listed": [item.id for item in listed.endpoints],
                "listed_addresses": sorted({item.address for item in listed.endpoints}),
                "next_page_token": listed.next_page_token,
                "cloud": [
                    cloud.response.name,
                    cloud.meta.cloud_id == cloud.response.id,
                ],
                "folder": [got_folder.name, got_folder.cloud_id == cloud.response.id],
                "network": [
                    got_network.name,
                    got_network.folder_id == folder_id,
                    dict(got_network.labels),
                ],
                "networks_in_folder": [
                    item.id == network_id for item in in_folder.networks
                ],
                "clusters_in_folder": len(listed_clusters.clusters),
                "missing_cluster": missing_cluster,
                "created_by": network.operation.created_by,
            }
        )
    )


if __name__ == "__main__":
    main()
