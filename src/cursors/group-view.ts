import type { Cursor, Position } from "../sources/source.js";
import type { GroupChange, GroupClaim, GroupRecord } from "./groups.js";

/*
 * What `get_cursor` shows of a consumer group, and how `set_cursor` moves one: pure, over
 * the record `groups.ts` keeps.
 */

/** One member's in-flight pages. */
export interface GroupMemberView {
  member: string;
  /** Pages it holds whose lease still runs. */
  claims: number;
  /** Events in those pages, where the pages say (null when one does not). */
  events: number | null;
  /** The earliest lease end among them: renewed every third of the lease while the member lives. */
  leasedUntil: string;
  /** The oldest page's start, after which its events lie. */
  from: Cursor | null;
}

export interface GroupView {
  name: string;
  /** Where the next unclaimed page starts (null: the start of the log). */
  position: Cursor | null;
  leaseMs: number;
  updatedAt: string | null;
  members: GroupMemberView[];
  /** Pages whose lease ran out (their member died or was cut off): the next member to pull gets them. */
  lapsed: { claims: number; events: number | null; since: string | null };
  /** This server's own name among the members. */
  you: string;
}

const iso = (ms: number) => new Date(ms).toISOString();

const sumEvents = (claims: GroupClaim[]): number | null =>
  claims.some((c) => c.events === undefined) ? null : claims.reduce((n, c) => n + (c.events ?? 0), 0);

/** The group's state at `now`; a group not used yet has no claims and starts at the log's start. */
export function describeGroup(
  name: string,
  record: GroupRecord | undefined,
  you: string,
  defaultLeaseMs: number,
  now: number,
): GroupView {
  const claims = record?.claims ?? [];
  const live = claims.filter((c) => c.deadline > now && c.member !== "");
  const lapsed = claims.filter((c) => !live.includes(c));
  const byMember = new Map<string, GroupClaim[]>();
  for (const c of live) byMember.set(c.member, [...(byMember.get(c.member) ?? []), c]);
  const members = [...byMember].map(([member, held]) => {
    const oldest = [...held].sort((a, b) => (a.from?.order ?? -1) - (b.from?.order ?? -1))[0] as GroupClaim;
    return {
      member,
      claims: held.length,
      events: sumEvents(held),
      leasedUntil: iso(Math.min(...held.map((c) => c.deadline))),
      from: oldest.from?.cursor ?? null,
    };
  });
  const lapsedSince = lapsed.filter((c) => c.deadline > 0).map((c) => c.deadline);
  return {
    name,
    position: record?.head?.cursor ?? null,
    leaseMs: record?.leaseMs ?? defaultLeaseMs,
    updatedAt: record?.updatedAt || null,
    members: members.sort((a, b) => a.member.localeCompare(b.member)),
    lapsed: {
      claims: lapsed.length,
      events: sumEvents(lapsed),
      since: lapsedSince.length === 0 ? null : iso(Math.min(...lapsedSince)),
    },
    you,
  };
}

/** What moving a group's position did: `moved` false when it would have gone back without `force`. */
export interface HeadMove {
  moved: boolean;
  record: GroupRecord | undefined;
}

/**
 * Moves a group's position to `to`. Never back within one log unless `force` (members got
 * those events already; going back hands them out again). Pages in flight stay with their
 * members; a position of another log voids them, as a reset of the log does.
 */
export function moveHead(
  record: GroupRecord | undefined,
  to: Position,
  force: boolean,
  leaseMs: number,
  now: number,
): GroupChange<HeadMove> {
  const head = record?.head ?? null;
  const sameLog = head !== null && (head.epoch ?? "") === (to.epoch ?? "");
  if (sameLog && to.order < head.order && !force) return { result: { moved: false, record } };
  const next: GroupRecord = {
    head: to,
    claims: record === undefined || (head !== null && !sameLog) ? [] : record.claims,
    leaseMs: record?.leaseMs ?? leaseMs,
    updatedAt: iso(now),
  };
  return { write: next, result: { moved: true, record: next } };
}
