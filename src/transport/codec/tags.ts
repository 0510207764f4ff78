// The protobuf layout of `RaftBatch` (proto/transport.proto) as the hand-written codec
// reads and writes it: one-byte tags, (field number << 3) | wire type, shared by the
// encoder, the decoder and the batch joiner so that they cannot drift apart.

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
export const WIRE_FIXED32 = 5;

export const TAG_BATCH_EPOCH = 0x0a;
export const TAG_BATCH_FROM = 0x10;
export const TAG_BATCH_MESSAGES = 0x1a;

export const TAG_EPOCH_START = 0x08;
export const TAG_EPOCH_ITERATION = 0x10;

export const TAG_MSG_TYPE = 0x08;
export const TAG_MSG_TO = 0x10;
export const TAG_MSG_FROM = 0x18;
export const TAG_MSG_TERM = 0x20;
export const TAG_MSG_LOG_TERM = 0x28;
export const TAG_MSG_INDEX = 0x30;
export const TAG_MSG_ENTRIES = 0x3a;
export const TAG_MSG_COMMIT = 0x40;
export const TAG_MSG_SNAPSHOT = 0x4a;
export const TAG_MSG_REJECT = 0x50;
export const TAG_MSG_REJECT_HINT = 0x58;
export const TAG_MSG_CONTEXT = 0x62;

export const TAG_ENTRY_TERM = 0x08;
export const TAG_ENTRY_INDEX = 0x10;
export const TAG_ENTRY_TYPE = 0x18;
export const TAG_ENTRY_DATA = 0x22;

export const TAG_SNAP_DATA = 0x0a;
export const TAG_SNAP_METADATA = 0x12;
export const TAG_META_CONF_STATE = 0x0a;
export const TAG_META_INDEX = 0x10;
export const TAG_META_TERM = 0x18;
export const FIELD_CONF_VOTERS = 1;
export const FIELD_CONF_LEARNERS = 2;
export const TAG_CONF_VOTERS_PACKED = 0x0a;
export const TAG_CONF_LEARNERS_PACKED = 0x12;

// Field 15 of RaftBatch (a ping) and of BatchAck (its pong), wire type 1 (64-bit): the
// pinger's performance.now() as a double. A ping carries no messages, so a receiver that
// does not know the field reads it as an empty batch.
export const TAG_PING = (15 << 3) | WIRE_FIXED64;
