// The gRPC service definition of RaftService, with names taken from proto/transport.proto
// and the message (de)serializers replaced by identity functions over bytes: the batch is
// encoded once by the hand-written codec (codec/encode.ts) and gRPC only frames it.
import type * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { TransportError } from "./errors.js";
import { protoDir, TRANSPORT_PROTO } from "./proto-files.js";

const SERVICE_NAME = "rafttoy.transport.RaftService";
const METHOD_NAME = "RaftMessage";

export type RaftMessageDefinition = grpc.MethodDefinition<Uint8Array, Uint8Array>;
export type RaftServiceDefinition = grpc.ServiceDefinition<{
  RaftMessage: RaftMessageDefinition;
}>;

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}

function identity(bytes: Buffer): Buffer {
  return bytes;
}

let cached: RaftServiceDefinition | undefined;

/** The RaftService definition, loaded once per process. */
export function raftServiceDefinition(): RaftServiceDefinition {
  if (cached !== undefined) return cached;
  const pkg = protoLoader.loadSync(TRANSPORT_PROTO, { includeDirs: [protoDir()] });
  const service = pkg[SERVICE_NAME] as protoLoader.ServiceDefinition | undefined;
  const method = service?.[METHOD_NAME];
  if (method === undefined || !method.requestStream || !method.responseStream) {
    throw new TransportError(
      "proto-missing",
      `${TRANSPORT_PROTO} must declare ${SERVICE_NAME}.${METHOD_NAME} as a bidirectional stream`,
    );
  }
  const raftMessage: RaftMessageDefinition = {
    path: method.path,
    requestStream: true,
    responseStream: true,
    originalName: method.originalName,
    requestSerialize: toBuffer,
    requestDeserialize: identity,
    responseSerialize: toBuffer,
    responseDeserialize: identity,
  };
  cached = { RaftMessage: raftMessage };
  return cached;
}
