// Membership requests (join, remove) made to a follower are carried out by the leader: the
// follower sends the request on to the leader's HTTP address and answers with the leader's
// reply, so `--join http://any-member` and `DELETE /cluster/ID` on any member work with
// clients that do not follow redirects (curl without -L, a joining node).
import { BackendError } from "../contract.js";

/** Marks a relayed request: its receiver answers it itself and never relays it again. */
export const RELAYED_HEADER = "x-rafttoy-relayed";

export interface RelayedAnswer {
  status: number;
  body: Buffer;
  contentType: string;
}

/** The leader's answer to `method url` (with `body`), or "no-leader" when it cannot be asked. */
export async function relayToLeader(
  leader: { id: number; http: string },
  method: string,
  url: string,
  body: Buffer | undefined,
  timeoutMs: number,
): Promise<RelayedAnswer> {
  let res: Response;
  try {
    res = await fetch(`http://${leader.http}${url}`, {
      method,
      headers: {
        [RELAYED_HEADER]: "1",
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body }),
      // A node that is no longer the leader answers 307 itself: the caller gets that.
      redirect: "manual",
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new BackendError(
      "no-leader",
      `the leader (node ${leader.id} at ${leader.http}) could not be asked: ${why}`,
    );
  }
  return {
    status: res.status,
    body: Buffer.from(await res.arrayBuffer()),
    contentType: res.headers.get("content-type") ?? "application/json",
  };
}
