"""protoc-gen-python-custom: a protoc plugin for Yandex-Cloud-style gRPC APIs."""

from generator.native import compiled_path

# The compiled modules, where a current build is there (see `native`).
__path__[:0] = compiled_path(__path__[0])
