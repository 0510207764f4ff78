import assert from "node:assert/strict";
import { test } from "node:test";
import { RaftError } from "../raft/errors.js";
import { WalError } from "../storage/errors.js";
import { WireFormatError } from "../transport/errors.js";
import {
  hasErrorCode,
  type Invariant,
  InvariantViolation,
  invariantOf,
  RafttoyError,
  USAGE_EXIT_CODE,
  UsageError,
} from "./errors.js";

test("a coded error keeps its message, carries its code and is named by its class", () => {
  const err = new WireFormatError("bad-frame", "a frame without a kind byte");
  assert.equal(err.message, "a frame without a kind byte");
  assert.equal(err.code, "bad-frame");
  assert.equal(err.name, "WireFormatError");
  assert.match(String(err), /^WireFormatError: a frame without a kind byte$/);
  assert.ok(err instanceof RafttoyError && err instanceof Error);
  assert.ok(hasErrorCode(err, "bad-frame"));
  assert.equal(hasErrorCode(err, "bad-hello"), false);
  assert.equal(hasErrorCode(new Error("x")), false);
});

test("every component's errors share the base; the core's keep their old messages", () => {
  const dropped = new RaftError("proposal-dropped", "no leader");
  assert.equal(dropped.message, "proposal-dropped: no leader");
  assert.equal(dropped.name, "RaftError");
  assert.ok(hasErrorCode(dropped, "proposal-dropped"));
  const io = new WalError("io-failed", "short write", { errno: "EIO" });
  assert.equal(io.errno, "EIO");
  assert.ok(hasErrorCode(io, "io-failed"));
});

test("a usage error defaults to a bad value and exits with the usage code", () => {
  const err = new UsageError("--count needs a value");
  assert.equal(err.code, "bad-value");
  assert.equal(err.exitCode, USAGE_EXIT_CODE);
  assert.equal(new UsageError("--nope", "bad-flag").code, "bad-flag");
});

test("invariantOf names the component; detail is built only on failure", () => {
  const invariant: Invariant = invariantOf("storage");
  let built = 0;
  const detail = () => {
    built++;
    return "wrote 3 of 4";
  };
  invariant(true, "whole-write", detail);
  assert.equal(built, 0);
  assert.throws(
    () => invariant(false, "whole-write", detail),
    (e: unknown) =>
      e instanceof InvariantViolation &&
      e.component === "storage" &&
      e.invariant === "whole-write" &&
      e.message === "storage invariant violated: whole-write: wrote 3 of 4",
  );
  assert.equal(built, 1);
});
