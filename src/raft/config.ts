// Configuration checking: every knob validated once, with a message that says what to
// change, and defaults filled in so the state machine never tests for "unset".
import { type Config, LOCAL_APPLY_THREAD } from "./api.js";
import { RaftError } from "./errors.js";
import { assertSafeIndex, NONE } from "./types.js";

/** Validated configuration with defaults filled in. */
export interface Settings {
  id: number;
  electionTick: number;
  heartbeatTick: number;
  maxSizePerMsg: number;
  maxCommittedSizePerReady: number;
  maxUncommittedSize: number;
  maxInflightMsgs: number;
  maxInflightBytes: number;
  checkQuorum: boolean;
  preVote: boolean;
  campaignOnElectionTimeout: boolean;
  disableProposalForwarding: boolean;
  asyncStorageWrites: boolean;
}

function positiveOr(v: number | undefined, fallback: number, what: string): number {
  if (v === undefined) return fallback;
  if (!(v >= 0)) throw new RaftError("invalid-config", `${what} must be >= 0, got ${v}`);
  return v;
}

export function validateConfig(c: Config): Settings {
  const bad = (msg: string): never => {
    throw new RaftError("invalid-config", msg);
  };
  if (!Number.isSafeInteger(c.id) || c.id <= NONE || c.id >= LOCAL_APPLY_THREAD) {
    bad(`id must be a positive safe integer below ${LOCAL_APPLY_THREAD}, got ${c.id}`);
  }
  if (!Number.isSafeInteger(c.heartbeatTick) || c.heartbeatTick <= 0) {
    bad(`heartbeatTick must be a positive integer, got ${c.heartbeatTick}`);
  }
  if (!Number.isSafeInteger(c.electionTick) || c.electionTick <= c.heartbeatTick) {
    bad(
      `electionTick must be an integer greater than heartbeatTick (${c.heartbeatTick}), got ${c.electionTick}`,
    );
  }
  if (!Number.isSafeInteger(c.maxInflightMsgs) || c.maxInflightMsgs <= 0) {
    bad(`maxInflightMsgs must be a positive integer, got ${c.maxInflightMsgs}`);
  }
  const maxSizePerMsg = positiveOr(c.maxSizePerMsg, Number.POSITIVE_INFINITY, "maxSizePerMsg");
  const committed = positiveOr(c.maxCommittedSizePerReady, 0, "maxCommittedSizePerReady");
  const uncommitted = positiveOr(c.maxUncommittedEntriesSize, 0, "maxUncommittedEntriesSize");
  const inflightBytes = positiveOr(c.maxInflightBytes, 0, "maxInflightBytes");
  if (c.applied !== undefined) assertSafeIndex(c.applied, "config.applied");
  return {
    id: c.id,
    electionTick: c.electionTick,
    heartbeatTick: c.heartbeatTick,
    maxSizePerMsg,
    maxCommittedSizePerReady: committed === 0 ? Number.POSITIVE_INFINITY : committed,
    maxUncommittedSize: uncommitted === 0 ? Number.POSITIVE_INFINITY : uncommitted,
    maxInflightMsgs: c.maxInflightMsgs,
    maxInflightBytes: inflightBytes,
    checkQuorum: c.checkQuorum === true,
    preVote: c.preVote === true,
    campaignOnElectionTimeout: c.campaignOnElectionTimeout !== false,
    disableProposalForwarding: c.disableProposalForwarding === true,
    asyncStorageWrites: c.asyncStorageWrites === true,
  };
}
