import assert from "node:assert/strict";
import { test } from "node:test";
import { benchEnvironment, filesystemOf } from "./environment.js";

const MOUNTS = [
  "/dev/vda1 / ext4 rw,relatime 0 0",
  "tmpfs /tmp tmpfs rw,nosuid 0 0",
  "/dev/vdb1 /work/data\\040disk xfs rw 0 0",
  "/dev/vdc1 /work/data btrfs rw 0 0",
].join("\n");

test("a path's filesystem is that of the longest mount point holding it", () => {
  assert.equal(filesystemOf("/home/x", MOUNTS), "ext4");
  assert.equal(filesystemOf("/tmp", MOUNTS), "tmpfs");
  assert.equal(filesystemOf("/tmp/a/b", MOUNTS), "tmpfs");
  // "/tmpx" is not inside "/tmp".
  assert.equal(filesystemOf("/tmpx/a", MOUNTS), "ext4");
  assert.equal(filesystemOf("/work/data disk/wal", MOUNTS), "xfs");
  assert.equal(filesystemOf("/work/data/wal", MOUNTS), "btrfs");
  assert.equal(filesystemOf("/x", ""), "unknown");
});

test("the environment names kernel, memory, the data dir's filesystem and git state", () => {
  const env = benchEnvironment("/definitely/not/there/yet");
  assert.ok(env.kernel.length > 0);
  assert.ok(env.totalMemoryBytes > 0);
  assert.equal(env.dataDir, "/definitely/not/there/yet");
  // A directory not created yet is measured where it would be created.
  assert.notEqual(env.dataDirFilesystem, undefined);
  assert.notEqual(env.dataDirFilesystem, "unknown");
  assert.ok(env.gitDirty === null || typeof env.gitDirty === "boolean");
});
