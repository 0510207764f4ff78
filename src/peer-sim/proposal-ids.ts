// Client proposals in the whole-node simulator carry a unique id, so that the checks can tell
// which acknowledged proposal sits at which index of which log.

/** The bytes of proposal `id`: 4 bytes little-endian, padded to a small payload. */
export function proposalData(id: number): Uint8Array {
  const data = new Uint8Array(16);
  new DataView(data.buffer).setUint32(0, id, true);
  data[4] = 0x5a; // a marker, so that no other entry reads as a proposal
  return data;
}

/** The id of a proposal's bytes; undefined for any other entry (empty, conf change). */
export function proposalIdOf(data: Uint8Array): number | undefined {
  if (data.length !== 16 || data[4] !== 0x5a) return undefined;
  return new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(0, true);
}
