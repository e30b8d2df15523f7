"""protoc-gen-python-custom: a protoc plugin for Yandex-Cloud-style gRPC APIs."""
