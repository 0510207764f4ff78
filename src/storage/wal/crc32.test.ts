import assert from "node:assert/strict";
import { test } from "node:test";
import { SeededRng } from "../../raft/rng.js";
import { crc32, crc32Portable } from "./crc32.js";

test("crc32: the check value of the CRC-32 (IEEE) catalogue entry", () => {
  assert.equal(crc32(Buffer.from("123456789")), 0xcbf43926);
  assert.equal(crc32Portable(Buffer.from("123456789")), 0xcbf43926);
});

test("crc32: the portable fallback agrees with the one in use, also when continued", () => {
  const seed = 12345;
  const rng = new SeededRng(seed);
  for (let round = 0; round < 200; round++) {
    const data = new Uint8Array(rng.intn(2000));
    for (let k = 0; k < data.length; k++) data[k] = rng.intn(256);
    const cut = rng.intn(data.length + 1);
    const whole = crc32(data);
    assert.equal(crc32Portable(data), whole, `seed ${seed}, round ${round}, ${data.length} bytes`);
    const continued = crc32Portable(data.subarray(cut), crc32Portable(data.subarray(0, cut)));
    assert.equal(continued, whole, `seed ${seed}, round ${round}: continued from byte ${cut}`);
  }
});
