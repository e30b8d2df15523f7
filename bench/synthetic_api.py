"""Writes a synthetic Yandex-style API: N resource services shaped like proto/.

Each service has the standard methods with operation options, validation options, a map, an
enum, a nested message, a oneof and comments, in its own package.

    python bench/synthetic_api.py OUT_DIR [--services 300]
"""

from __future__ import annotations

import argparse
from pathlib import Path

_RESOURCE = """syntax = "proto3";

package bench.{product}.v1;

import "google/protobuf/timestamp.proto";

// A {Name} resource.
message {Name} {{
  // Status of the {name}.
  enum Status {{
    // Unspecified status.
    STATUS_UNSPECIFIED = 0;
    // The {name} is being created.
    CREATING = 1;
    // The {name} is ready.
    READY = 2;
    // The {name} is being updated.
    UPDATING = 3;
    // The {name} is being deleted.
    DELETING = 4;
  }}

  // Hardware of the {name}.
  message Spec {{
    // Number of cores.
    int64 cores = 1;
    // Memory in bytes.
    int64 memory = 2;
  }}

  // ID of the {name}.
  string id = 1;
  // ID of the folder that the {name} belongs to.
  string folder_id = 2;
  // Name of the {name}. The name is unique within the folder.
  string name = 3;
  // Description of the {name}.
  string description = 4;
  // Status of the {name}.
  Status status = 5;
  // Creation timestamp.
  google.protobuf.Timestamp created_at = 6;
  // Resource labels as `key:value` pairs.
  map<string, string> labels = 7;
  // Hardware.
  Spec spec = 8;
  // Where the {name} is placed.
  oneof placement {{
    // Zone of the {name}.
    string zone_id = 9;
    // Region of the {name}.
    string region_id = 10;
  }}
}}
"""

_SERVICE = """syntax = "proto3";

package bench.{product}.v1;

import "google/protobuf/field_mask.proto";
import "yandex/cloud/api/operation.proto";
import "yandex/cloud/operation/operation.proto";
import "yandex/cloud/validation.proto";
import "bench/{product}/v1/{name}.proto";

// A set of methods for managing {Name} resources.
service {Name}Service {{
  // Returns the specified {Name} resource.
  //
  // To get the list of available {Name} resources, make a [List] request.
  rpc Get (Get{Name}Request) returns ({Name});

  // Retrieves the list of {Name} resources in the specified folder.
  rpc List (List{Name}sRequest) returns (List{Name}sResponse);

  // Creates a {name} in the specified folder.
  rpc Create (Create{Name}Request) returns (yandex.cloud.operation.Operation) {{
    option (yandex.cloud.api.operation) = {{
      metadata: "Create{Name}Metadata"
      response: "{Name}"
    }};
  }}

  // Updates the specified {name}.
  rpc Update (Update{Name}Request) returns (yandex.cloud.operation.Operation) {{
    option (yandex.cloud.api.operation) = {{
      metadata: "Update{Name}Metadata"
      response: "{Name}"
    }};
  }}

  // Deletes the specified {name}.
  rpc Delete (Delete{Name}Request) returns (yandex.cloud.operation.Operation) {{
    option (yandex.cloud.api.operation) = {{
      metadata: "Delete{Name}Metadata"
      response: "google.protobuf.Empty"
    }};
  }}

  // Lists operations for the specified {name}.
  rpc ListOperations (List{Name}OperationsRequest) returns (List{Name}OperationsResponse);
}}

message Get{Name}Request {{
  // ID of the {Name} resource to return.
  //
  // To get the {name} ID, use a [{Name}Service.List] request.
  string {name}_id = 1 [(yandex.cloud.required) = true, (yandex.cloud.length) = "<=50"];
}}

message List{Name}sRequest {{
  // ID of the folder to list {name}s in.
  string folder_id = 1 [(yandex.cloud.required) = true, (yandex.cloud.length) = "<=50"];
  // The maximum number of results per page to return.
  int64 page_size = 2 [(yandex.cloud.value) = "<=1000"];
  // Page token from [List{Name}sResponse.next_page_token].
  string page_token = 3 [(yandex.cloud.length) = "<=100"];
  // A filter expression.
  string filter = 4 [(yandex.cloud.length) = "<=1000"];
}}

message List{Name}sResponse {{
  // List of {Name} resources.
  repeated {Name} {name}s = 1;
  // Token for getting the next page of the list.
  string next_page_token = 2;
}}

message Create{Name}Request {{
  // ID of the folder to create the {name} in.
  string folder_id = 1 [(yandex.cloud.required) = true, (yandex.cloud.length) = "<=50"];
  // Name of the {name}.
  string name = 2 [(yandex.cloud.pattern) = "|[a-z]([-a-z0-9]{{0,61}}[a-z0-9])?"];
  // Description of the {name}.
  string description = 3 [(yandex.cloud.length) = "<=256"];
  // Resource labels as `key:value` pairs.
  map<string, string> labels = 4 [
    (yandex.cloud.size) = "<=64",
    (yandex.cloud.length) = "<=63",
    (yandex.cloud.pattern) = "[-_./\\\\@0-9a-z]*",
    (yandex.cloud.map_key) = {{length: "1-63", pattern: "[a-z][-_./\\\\@0-9a-z]*"}}
  ];
  // Hardware.
  {Name}.Spec spec = 5 [(yandex.cloud.required) = true];
  // Where the {name} is placed.
  oneof placement {{
    option (yandex.cloud.exactly_one) = true;
    // Zone.
    string zone_id = 6 [(yandex.cloud.length) = "<=50"];
    // Region.
    string region_id = 7 [(yandex.cloud.length) = "<=50"];
  }}
}}

message Create{Name}Metadata {{
  // ID of the {name} that is being created.
  string {name}_id = 1;
}}

message Update{Name}Request {{
  // ID of the {name} to update.
  string {name}_id = 1 [(yandex.cloud.required) = true, (yandex.cloud.length) = "<=50"];
  // Field mask that specifies which fields of the {Name} resource are going to be updated.
  google.protobuf.FieldMask update_mask = 2;
  // Name of the {name}.
  string name = 3 [(yandex.cloud.pattern) = "|[a-z]([-a-z0-9]{{0,61}}[a-z0-9])?"];
  // Description of the {name}.
  string description = 4 [(yandex.cloud.length) = "<=256"];
  // Resource labels as `key:value` pairs.
  map<string, string> labels = 5 [(yandex.cloud.size) = "<=64", (yandex.cloud.length) = "<=63"];
  // Hardware.
  {Name}.Spec spec = 6;
}}

message Update{Name}Metadata {{
  // ID of the {name} that is being updated.
  string {name}_id = 1;
}}

message Delete{Name}Request {{
  // ID of the {name} to delete.
  string {name}_id = 1 [(yandex.cloud.required) = true, (yandex.cloud.length) = "<=50"];
}}

message Delete{Name}Metadata {{
  // ID of the {name} that is being deleted.
  string {name}_id = 1;
}}

message List{Name}OperationsRequest {{
  // ID of the {name} to list operations for.
  string {name}_id = 1 [(yandex.cloud.required) = true, (yandex.cloud.length) = "<=50"];
  // The maximum number of results per page.
  int64 page_size = 2 [(yandex.cloud.value) = "0-1000"];
  // Page token.
  string page_token = 3 [(yandex.cloud.length) = "<=100"];
}}

message List{Name}OperationsResponse {{
  // List of operations for the specified {name}.
  repeated yandex.cloud.operation.Operation operations = 1;
  // Token for getting the next page of the list.
  string next_page_token = 2;
}}
"""


def write_api(out: Path, services: int) -> list[str]:
    """Writes the protos under `out` and returns their paths relative to it."""
    written = []
    for index in range(services):
        product = f"product{index:03}"
        name = f"widget{index:03}"
        values = {"product": product, "name": name, "Name": name.capitalize()}
        folder = out / "bench" / product / "v1"
        folder.mkdir(parents=True, exist_ok=True)
        for file_name, template in (
            (f"{name}.proto", _RESOURCE),
            (f"{name}_service.proto", _SERVICE),
        ):
            (folder / file_name).write_text(template.format(**values))
            written.append(f"bench/{product}/v1/{file_name}")
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("--services", type=int, default=300)
    arguments = parser.parse_args()
    print(len(write_api(arguments.out, arguments.services)), "files")


if __name__ == "__main__":
    main()
