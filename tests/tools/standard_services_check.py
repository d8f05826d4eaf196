#!/usr/bin/env python3
"""Checks a running refinery server the way generic tools see it (grpcurl, grpc_cli, Postman):
health per pipeline and overall, and reflection that describes refinery.v1.Refinery without the
.proto. Usage: standard_services_check.py HOST:PORT PIPELINE (PYTHONPATH holds the protoc output
of tests/support/grpc_standard/*.proto). Exits non-zero with the reason on the first mismatch."""
import sys

import grpc
from google.protobuf import descriptor_pb2

import health_pb2
import reflection_pb2


def fail(why):
    print("FAILED: " + why, file=sys.stderr)
    sys.exit(1)


def main():
    target, pipeline = sys.argv[1], sys.argv[2]
    with grpc.insecure_channel(target) as channel:
        check = channel.unary_unary("/grpc.health.v1.Health/Check",
                                    request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
                                    response_deserializer=health_pb2.HealthCheckResponse.FromString)
        for service in ["", "refinery.v1.Refinery", pipeline]:
            status = check(health_pb2.HealthCheckRequest(service=service), timeout=10).status
            if status != health_pb2.HealthCheckResponse.SERVING:
                fail("health of %r is %d, not SERVING" % (service, status))
        try:
            check(health_pb2.HealthCheckRequest(service="no-such-pipeline"), timeout=10)
            fail("health of an unknown pipeline answered")
        except grpc.RpcError as e:
            if e.code() != grpc.StatusCode.NOT_FOUND:
                fail("health of an unknown pipeline: %s, not NOT_FOUND" % e.code())

        info = channel.stream_stream(
            "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
            request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
            response_deserializer=reflection_pb2.ServerReflectionResponse.FromString)
        asks = [reflection_pb2.ServerReflectionRequest(list_services="*"),
                reflection_pb2.ServerReflectionRequest(file_containing_symbol="refinery.v1.Refinery")]
        answers = list(info(iter(asks), timeout=10))
        services = {s.name for s in answers[0].list_services_response.service}
        for wanted in ["refinery.v1.Refinery", "grpc.health.v1.Health"]:
            if wanted not in services:
                fail("reflection does not list %s (it lists %s)" % (wanted, sorted(services)))
        methods = set()
        for blob in answers[1].file_descriptor_response.file_descriptor_proto:
            f = descriptor_pb2.FileDescriptorProto.FromString(blob)
            for s in f.service:
                if f.package == "refinery.v1" and s.name == "Refinery":
                    methods |= {m.name for m in s.method}
        for wanted in ["Run", "RunStream", "ListPipelines", "DescribePipeline", "Stats"]:
            if wanted not in methods:
                fail("reflection's refinery.v1.Refinery lacks %s (has %s)" % (wanted, sorted(methods)))
    print("health and reflection ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
