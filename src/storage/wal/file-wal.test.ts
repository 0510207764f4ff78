import { silentLogger } from "../../raft/api.js";
import { walConformance } from "./conformance.js";
import { FileWal } from "./file-wal.js";

walConformance(
  "file",
  (dir) => FileWal.open({ dir, logger: silentLogger, segmentBytes: 1 << 20 }),
  {
    reopenable: true,
  },
);
walConformance(
  "file with 4 KiB segments and a 2 KiB cache",
  (dir) => FileWal.open({ dir, logger: silentLogger, segmentBytes: 4096, cacheBytes: 2048 }),
  { reopenable: true },
);
