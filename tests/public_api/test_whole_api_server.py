"""One api_server.py generated from the whole public API serves every service, and the standard
methods of every resource service round-trip over real gRPC (tests/round_trips.py)."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import grpc

from generator.model import Method, StandardMethod
from rest_round_trips import RestRoundTrip
from round_trips import STEPS, Messages, Outcome, RoundTrip
from support import ServerProcess
from whole_api import GeneratedApi, report

# grpcio's own answer for a path that no servicer registered.
UNKNOWN_METHOD = "Method not found!"


def call_empty(channel: grpc.Channel, path: str, method: Method) -> None:
    """Calls an rpc with an empty request (one empty message for client streams)."""
    if method.client_streaming and method.server_streaming:
        list(channel.stream_stream(path)(iter([b""]), timeout=30))
    elif method.client_streaming:
        channel.stream_unary(path)(iter([b""]), timeout=30)
    elif method.server_streaming:
        list(channel.unary_stream(path)(b"", timeout=30))
    else:
        channel.unary_unary(path)(b"", timeout=30)


def test_an_idle_whole_api_server_exits_on_sigterm(generated_api: GeneratedApi) -> None:
    """It exits cleanly, its shutdown logged. How long it took is reported in the summary,
    not asserted: about 0.15 s on an unloaded 2-core machine, 0.1 s of it waiting for calls
    on their way, and 0.19 s with both cores busy (0.34 s and 0.46 s while Python still
    collected every object of the generated modules at exit and the main thread looked for
    the signal every 0.2 s)."""
    server = ServerProcess(generated_api.root, "--db", ":memory:").start()
    started = time.monotonic()
    assert server.stop() == 0, server.server_log()[-3000:]
    report(
        generated_api.source,
        "idle exit on SIGTERM (s)",
        round(time.monotonic() - started, 2),
    )
    assert "stopped" in server.server_log()


def test_every_service_answers_every_rpc(
    generated_api: GeneratedApi, api_server: ServerProcess, api_channel: grpc.Channel
) -> None:
    """Each rpc of each service answers on its path: any status but grpcio's own unknown-method
    UNIMPLEMENTED, and no INTERNAL or UNKNOWN (empty requests are client mistakes)."""
    codes: Counter[str] = Counter()
    wrong = []
    services = [s for f in generated_api.model.generated_files for s in f.services]
    for service in services:
        for method in service.methods:
            path = f"/{service.full_name}/{method.name}"
            try:
                call_empty(api_channel, path, method)
                codes["OK"] += 1
            except grpc.RpcError as error:
                code: Any = error.code()  # type: ignore[attr-defined]
                codes[code.name] += 1
                details = error.details()  # type: ignore[attr-defined]
                if details == UNKNOWN_METHOD or code in (
                    grpc.StatusCode.INTERNAL,
                    grpc.StatusCode.UNKNOWN,
                ):
                    wrong.append(f"{path}: {code.name}: {details}")
    assert not wrong, "\n".join(wrong) + "\n" + api_server.server_log()[-3000:]
    report(generated_api.source, "services served", len(services))
    report(generated_api.source, "rpcs answered", dict(codes))


def test_resource_services_round_trip(
    generated_api: GeneratedApi, api_channel: grpc.Channel
) -> None:
    """Create → Get → Update (with a mask) → List → ListOperations → Delete → Get, for every
    service with a resource and a recognised Create; a step is skipped only where the
    service's shape rules it out (RoundTrip.run says which shapes)."""
    model = generated_api.model
    resource_services = [
        s
        for f in model.generated_files
        for s in f.services
        if s.resource and not s.is_framework
    ]
    creatable = [
        s for s in resource_services if s.standard_method(StandardMethod.CREATE)
    ]
    trip = RoundTrip(model, Messages(generated_api.source.files), api_channel)
    outcomes = [trip.run(service) for service in creatable]
    failed = [f"{o.service}: {o.error}" for o in outcomes if o.error]
    assert not failed, "\n".join(failed)
    partial: list[Outcome] = [o for o in outcomes if not o.round_tripped]
    assert all(o.skipped for o in partial)
    report(generated_api.source, "resource services", len(resource_services))
    report(generated_api.source, "with Create", len(creatable))
    report(generated_api.source, "round-tripped", len(outcomes) - len(partial))
    report(
        generated_api.source,
        "fields updated, by kind",
        dict(Counter(o.updated for o in outcomes if o.updated)),
    )
    report(
        generated_api.source,
        "steps skipped",
        {
            f"{o.service} {step}": why
            for o in partial
            for step, why in o.skipped.items()
        },
    )
    report(
        generated_api.source,
        "without Create",
        dict(
            Counter(
                _standard_methods(s) for s in resource_services if s not in creatable
            )
        ),
    )


def _standard_methods(service: Any) -> str:
    return "+".join(sorted({m.standard.value for m in service.methods if m.standard}))


def test_resource_services_round_trip_over_rest(generated_api: GeneratedApi) -> None:
    """The same round trips over the REST face of a server of their own, for every service
    whose standard methods all have a google.api.http rule: the same steps, the same checks.
    """
    model = generated_api.model
    creatable = [
        s
        for f in model.generated_files
        for s in f.services
        if s.resource
        and not s.is_framework
        and s.standard_method(StandardMethod.CREATE)
    ]
    on_rest = [
        s
        for s in creatable
        if all(
            method.http is not None
            for step in STEPS
            if (method := s.standard_method(step)) is not None
        )
    ]
    api_server = ServerProcess(
        generated_api.root,
        "--db",
        ":memory:",
        "--no-reference-checks",
        "--http-port",
        "0",
    ).start()
    try:
        trip = RestRoundTrip(
            model, Messages(generated_api.source.files), api_server.http_address
        )
        outcomes = [trip.run(service) for service in on_rest]
        failed = [f"{o.service}: {o.error}" for o in outcomes if o.error]
        assert not failed, (
            "\n".join(failed[:20]) + "\n" + api_server.server_log()[-3000:]
        )
    finally:
        api_server.stop()
    round_tripped = sum(1 for o in outcomes if o.round_tripped)
    report(
        generated_api.source, "with Create, all standard methods on REST", len(on_rest)
    )
    report(generated_api.source, "round-tripped over REST", round_tripped)
    report(generated_api.source, "REST calls", trip.calls)
