#!/usr/bin/env python3
"""A refinery client in Python: Debian's python3-grpcio and the messages protoc generates.

    protoc -I . --python_out=OUT graph/proto/refinery.proto graph/proto/refinery_service.proto
    PYTHONPATH=OUT /usr/bin/python3 tools/service/example_client.py 127.0.0.1:50051 clean-text "Some   text"

python3-grpc-tools in Debian 12 is too old (1.14) to generate service stubs for grpcio 1.51, so
the calls are made by method path with the generated messages, which is all a stub does.
"""
import sys

import grpc

from graph.proto import refinery_pb2, refinery_service_pb2

SERVICE = "/refinery.v1.Refinery/"


def method(channel, name, request_type, response_type, streaming=False):
    make = channel.stream_stream if streaming else channel.unary_unary
    return make(SERVICE + name, request_serializer=request_type.SerializeToString,
                response_deserializer=response_type.FromString)


def main():
    if len(sys.argv) < 4:
        print("usage: example_client.py HOST:PORT PIPELINE TEXT...", file=sys.stderr)
        return 2
    target, pipeline, texts = sys.argv[1], sys.argv[2], sys.argv[3:]
    with grpc.insecure_channel(target) as channel:
        listed = method(channel, "ListPipelines", refinery_service_pb2.ListPipelinesRequest,
                        refinery_service_pb2.ListPipelinesResponse)(
            refinery_service_pb2.ListPipelinesRequest(), timeout=10)
        print("pipelines:", ", ".join(p.name for p in listed.pipelines))

        # One request, unary.
        run = method(channel, "Run", refinery_service_pb2.RunRequest, refinery_pb2.Result)
        first = refinery_service_pb2.RunRequest(
            pipeline=pipeline, request=refinery_pb2.Request(id="1", text=texts[0]))
        result = run(first, timeout=10)
        print("Run:", result.id, result.status, repr(result.fields["text"]))

        # All of them, streamed; results come back as each finishes.
        stream = method(channel, "RunStream", refinery_service_pb2.RunRequest,
                        refinery_pb2.Result, streaming=True)
        requests = (refinery_service_pb2.RunRequest(
            pipeline=pipeline, request=refinery_pb2.Request(id=str(i + 1), text=text))
            for i, text in enumerate(texts))
        for result in stream(requests, timeout=30):
            print("RunStream:", result.id, result.status, repr(result.fields["text"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
