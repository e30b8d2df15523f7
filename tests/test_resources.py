"""Unit tests of what each rpc means to the server (generator/resources.py), on the edge cases
of tests/protos/meanings: the evidence of name, HTTP binding and shape, with the reasons.
"""

from __future__ import annotations

import pytest

from generator.model import (
    Action,
    Api,
    KeyPart,
    ResponseKind,
    Service,
    StandardMethod,
    build_api,
)
from generator.resources import links
from support import PROTO, TEST_PROTOS, compile_descriptors

VAULT = "acme/vault/v1/vault.proto"


@pytest.fixture(scope="module")
def vault() -> Api:
    roots = (TEST_PROTOS / "meanings", PROTO)
    return build_api(compile_descriptors([VAULT], roots=roots).file, [VAULT])


def service(api: Api, name: str) -> Service:
    found = api.service(f"acme.vault.v1.{name}")
    assert found is not None
    return found


def meanings(found: Service) -> dict[str, object]:
    return {m.name: m.standard or m.action for m in found.methods}


def test_a_key_named_key_id_is_deleted_not_created(vault: Api) -> None:
    keys = service(vault, "KeyService")
    assert keys.resource is not None
    assert keys.resource.key == (KeyPart("id", "key_id"),)
    assert meanings(keys) == {
        "Get": StandardMethod.GET,
        "List": StandardMethod.LIST,
        "Create": StandardMethod.CREATE,
        "Delete": StandardMethod.DELETE,
        "Rotate": None,
        "Move": Action.MOVE,
    }
    delete = keys.method("Delete")
    assert delete is not None and delete.shape is not None
    assert delete.shape.response is ResponseKind.RESOURCE  # it answers the deleted key
    rotate = keys.method("Rotate")
    assert rotate is not None
    assert rotate.reason == "an action: not named as a standard method"


def test_a_status_enum_gives_the_lifecycle_by_its_own_names(vault: Api) -> None:
    keys, clusters = service(vault, "KeyService"), service(vault, "ClusterService")
    assert keys.resource and keys.resource.lifecycle
    assert (keys.resource.lifecycle.ready, keys.resource.lifecycle.creating) == (
        "ACTIVE",
        "CREATING",
    )
    assert clusters.resource and clusters.resource.lifecycle
    lifecycle = clusters.resource.lifecycle
    assert (lifecycle.ready, lifecycle.stopped, lifecycle.starting) == (
        "RUNNING",
        "STOPPED",
        "STARTING",
    )


def test_start_and_stop_are_transitions_and_delete_hosts_is_no_delete(
    vault: Api,
) -> None:
    clusters = service(vault, "ClusterService")
    assert meanings(clusters) == {
        "Get": StandardMethod.GET,
        "Create": StandardMethod.CREATE,
        "Start": Action.START,
        "Stop": Action.STOP,  # its operation answers Empty
        "DeleteHosts": None,
    }


def test_a_database_is_named_by_its_cluster_and_its_name(vault: Api) -> None:
    databases = service(vault, "DatabaseService")
    resource = databases.resource
    assert resource is not None
    assert resource.key == (
        KeyPart("cluster_id", "cluster_id"),
        KeyPart("name", "database_name"),
    )
    assert not resource.generated_id and resource.parent_field == "cluster_id"
    create = databases.method("Create")
    assert create is not None and create.shape is not None
    assert create.shape.spec_fields == ("database_spec",)
    assert (
        create.reason == "Create: makes Database; answers the resource in an Operation"
    )
    listing = databases.method("List")
    assert listing is not None and listing.shape is not None
    assert listing.shape.parent_field == "cluster_id"
    update = databases.method("Update")
    assert update is not None and update.standard is StandardMethod.UPDATE
    assert update.shape is not None and update.shape.mask_field == "update_mask"


def test_a_delete_bound_to_a_custom_verb_is_an_action_that_says_why(vault: Api) -> None:
    delete = service(vault, "DatabaseService").method("Delete")
    assert delete is not None
    assert (delete.standard, delete.action) == (None, None)
    assert delete.reason == (
        "an action: named Delete, but google.api.http binds it to POST "
        "/vault/v1/clusters/{cluster_id}/databases/{database_name}:purge"
    )


def test_a_key_part_that_names_another_resource_is_a_reference(vault: Api) -> None:
    databases = service(vault, "DatabaseService")
    assert databases.resource is not None
    assert [(r.field, r.target) for r in databases.resource.references] == [
        ("cluster_id", "acme.vault.v1.Cluster")
    ]


def test_the_server_links_a_cluster_to_the_databases_keyed_by_it(vault: Api) -> None:
    found = links(s for s in vault.services if s.package == "acme.vault.v1")
    database, cluster = "acme.vault.v1.Database", "acme.vault.v1.Cluster"
    assert found[database].references == (("cluster_id", cluster, "cluster"),)
    assert found[cluster].children == (database,)
    assert found["acme.vault.v1.Key"].references == ()


def test_a_parent_the_resource_does_not_record_is_kept_beside_it(vault: Api) -> None:
    aliases = service(vault, "AliasService")
    resource = aliases.resource
    assert resource is not None
    assert resource.key == (KeyPart("", "key_id"), KeyPart("name", "alias_name"))
    assert (resource.parent_field, resource.generated_id) == ("", False)
    get = aliases.method("Get")
    assert get is not None and get.standard is StandardMethod.GET
    assert (
        get.reason
        == "Get: returns Alias named by key_id (kept beside it), alias_name (its name)"
    )
    create = aliases.method("Create")
    assert create is not None and create.standard is StandardMethod.CREATE
    found = links(s for s in vault.services if s.package == "acme.vault.v1")
    assert found["acme.vault.v1.Alias"].references == (
        ("", "acme.vault.v1.Key", "key"),
    )
    assert found["acme.vault.v1.Key"].children == ("acme.vault.v1.Alias",)
