// The fault-injection admin commands, answered only by a node started with --admin-faults
// (rafttoy-jepsen's partitions go through them):
//   RAFTTOY.PARTITION id [id …]  cut this node off from those peers, both directions
//                                (replaces any earlier cut)
//   RAFTTOY.HEAL                 reconnect it to every peer
//   RAFTTOY.FAULTS               the peers currently cut off
// Without the flag each is refused with one line saying how to turn it on.
import type { FaultSwitch } from "../../transport/fault-switch.js";
import type { Reply } from "./reply.js";
import * as r from "./reply.js";

/** What the admin commands need of a connection (commands.ts's LocalContext has it). */
export interface FaultContext {
  /** The node's switch; undefined when it was started without --admin-faults. */
  readonly faults: FaultSwitch | undefined;
  cluster(): { id: number };
}

/** A local command in commands.ts's shape, kept apart so that neither file imports the other. */
interface AdminCommand {
  kind: "local";
  arity: number;
  run(args: Buffer[], ctx: FaultContext): Reply;
}

const OFF = r.error(
  "ERR fault injection is off: start rafttoy-kv with --admin-faults to use RAFTTOY.PARTITION / RAFTTOY.HEAL",
);

function peerIds(args: Buffer[], self: number): { ids: number[] } | { refused: Reply } {
  const ids: number[] = [];
  for (const a of args.slice(1)) {
    const text = a.toString("latin1");
    if (!/^[1-9][0-9]{0,8}$/.test(text))
      return { refused: r.error(`ERR not a node id: '${text.slice(0, 64)}'`) };
    const id = Number(text);
    if (id === self) return { refused: r.error(`ERR node ${id} cannot be cut off from itself`) };
    ids.push(id);
  }
  return { ids };
}

function isolated(ctx: FaultContext): Reply {
  return r.array((ctx.faults?.isolated ?? []).map((id) => r.integer(id)));
}

export const ADMIN: Record<string, AdminCommand> = {
  "rafttoy.partition": {
    kind: "local",
    arity: -2,
    run(args, ctx) {
      if (ctx.faults === undefined) return OFF;
      const parsed = peerIds(args, ctx.cluster().id);
      if ("refused" in parsed) return parsed.refused;
      ctx.faults.partition(parsed.ids);
      return r.OK;
    },
  },
  "rafttoy.heal": {
    kind: "local",
    arity: 1,
    run(_args, ctx) {
      if (ctx.faults === undefined) return OFF;
      ctx.faults.heal();
      return r.OK;
    },
  },
  "rafttoy.faults": {
    kind: "local",
    arity: 1,
    run: (_args, ctx) => (ctx.faults === undefined ? OFF : isolated(ctx)),
  },
};
