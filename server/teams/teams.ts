/** Teams incidents can be assigned to, and who belongs to them. Admins change them; everyone may read them. */
import { sql } from 'drizzle-orm';
import type { AlsoInTransaction, Database, Tx } from '../db/database.ts';
import { DomainError } from '../errors.ts';
import type { CreateTeamRequest, TeamDto, TeamMemberDto, UpdateTeamRequest, AssignableUserDto } from '../../src/lib/protocol/console.ts';
import type { Role } from '../../src/lib/protocol/api.ts';
import { anyText } from '../db/sql-values.ts';

interface TeamRow {
  id: string;
  slug: string;
  name: string;
  created_at: Date | string;
  open_incidents: number | string;
  members: TeamMemberDto[] | null;
}

const TEAM_SELECT = sql`select t.id, t.slug, t.name, t.created_at,
    (select count(*) from incidents i where i.team_id = t.id and i.status <> 'resolved') as open_incidents,
    (select jsonb_agg(jsonb_build_object('id', u.id, 'name', u.name, 'email', u.email, 'role', u.role) order by u.name)
       from team_members m join users u on u.id = m.user_id where m.team_id = t.id) as members
  from teams t`;

function toTeamDto(r: TeamRow): TeamDto {
  return {
    id: r.id,
    slug: r.slug,
    name: r.name,
    members: r.members ?? [],
    openIncidents: Number(r.open_incidents),
    createdAt: new Date(r.created_at).toISOString(),
  };
}

export async function listTeams(database: Database): Promise<TeamDto[]> {
  return (await database.rows<TeamRow>(sql`${TEAM_SELECT} order by t.name`)).map(toTeamDto);
}

export async function getTeam(database: Database, id: string, on?: Tx): Promise<TeamDto> {
  const [row] = await database.rows<TeamRow>(sql`${TEAM_SELECT} where t.id = ${id}::uuid`, on);
  if (!row) throw new DomainError('not_found', `no team ${id}`);
  return toTeamDto(row);
}

async function setMembers(database: Database, tx: Tx, teamId: string, memberIds: string[]): Promise<void> {
  const ids = [...new Set(memberIds)];
  if (ids.length > 0) {
    const found = await database.rows<{ id: string }>(
      sql`select id from users where id::text = ${anyText(ids)}`,
      tx,
    );
    const missing = ids.filter((id) => !found.some((f) => f.id === id));
    if (missing.length > 0) throw new DomainError('validation_failed', `no user ${missing[0]}`, 'memberIds');
  }
  await database.rows(sql`delete from team_members where team_id = ${teamId}::uuid`, tx);
  if (ids.length > 0) {
    await database.rows(
      sql`insert into team_members (team_id, user_id)
          select ${teamId}::uuid, x::uuid from jsonb_array_elements_text(${JSON.stringify(ids)}::jsonb) as x`,
      tx,
    );
  }
}

/** Creates a team (slug unique) with its members. `afterward` runs in the same transaction (the audit row). */
export async function createTeam(database: Database, input: CreateTeamRequest, afterward: AlsoInTransaction<TeamDto>): Promise<TeamDto> {
  return database.db.transaction(async (tx) => {
    const [row] = await database.rows<{ id: string }>(
      sql`insert into teams (slug, name) values (${input.slug}, ${input.name}) on conflict (slug) do nothing returning id`,
      tx,
    );
    if (!row) throw new DomainError('conflict', `a team with slug ${input.slug} already exists`, 'slug');
    if (input.memberIds) await setMembers(database, tx, row.id, input.memberIds);
    const team = await getTeam(database, row.id, tx);
    await afterward(tx, team);
    return team;
  });
}

/**
 * Changes a team in the caller's transaction, where its audit row goes too and, when it renames the team,
 * the change rows of the incidents showing the name (see Renames).
 */
export async function updateTeam(database: Database, tx: Tx, id: string, input: UpdateTeamRequest): Promise<{ before: TeamDto; after: TeamDto }> {
  const before = await getTeam(database, id, tx);
  if (input.slug !== undefined && input.slug !== before.slug) {
    const [taken] = await database.rows<{ id: string }>(sql`select id from teams where slug = ${input.slug} and id <> ${id}::uuid`, tx);
    if (taken) throw new DomainError('conflict', `a team with slug ${input.slug} already exists`, 'slug');
  }
  await database.rows(
    sql`update teams set slug = ${input.slug ?? before.slug}, name = ${input.name ?? before.name} where id = ${id}::uuid`,
    tx,
  );
  if (input.memberIds) await setMembers(database, tx, id, input.memberIds);
  return { before, after: await getTeam(database, id, tx) };
}

export async function addMember(database: Database, teamId: string, userId: string, afterward: AlsoInTransaction<TeamDto>): Promise<TeamDto> {
  return database.db.transaction(async (tx) => {
    await getTeam(database, teamId, tx);
    const [user] = await database.rows<{ id: string }>(sql`select id from users where id = ${userId}::uuid`, tx);
    if (!user) throw new DomainError('not_found', `no user ${userId}`);
    await database.rows(sql`insert into team_members (team_id, user_id) values (${teamId}::uuid, ${userId}::uuid) on conflict do nothing`, tx);
    const team = await getTeam(database, teamId, tx);
    await afterward(tx, team);
    return team;
  });
}

export async function removeMember(database: Database, teamId: string, userId: string, afterward: AlsoInTransaction<TeamDto>): Promise<TeamDto> {
  return database.db.transaction(async (tx) => {
    await getTeam(database, teamId, tx);
    const gone = await database.rows(sql`delete from team_members where team_id = ${teamId}::uuid and user_id = ${userId}::uuid returning user_id`, tx);
    if (gone.length === 0) throw new DomainError('not_found', `user ${userId} is not a member of this team`);
    const team = await getTeam(database, teamId, tx);
    await afterward(tx, team);
    return team;
  });
}

/**
 * Deletes a team. A team that holds open incidents is refused (reassign them first: the queue must
 * not show a holder that no longer exists); resolved incidents forget it.
 */
export async function deleteTeam(database: Database, id: string, afterward: AlsoInTransaction<TeamDto>): Promise<void> {
  await database.db.transaction(async (tx) => {
    const team = await getTeam(database, id, tx);
    if (team.openIncidents > 0) {
      throw new DomainError('conflict', `team ${team.name} holds ${team.openIncidents} open incident(s): reassign them first`);
    }
    await database.rows(sql`update incidents set team_id = null where team_id = ${id}::uuid`, tx);
    await database.rows(sql`delete from teams where id = ${id}::uuid`, tx);
    await afterward(tx, team);
  });
}

/** People who can hold incidents (engineer and up, active), for assignment pickers. */
export async function listAssignableUsers(database: Database): Promise<AssignableUserDto[]> {
  const rows = await database.rows<{ id: string; name: string; role: Role; on_shift: boolean; clients: string[] | null; team_ids: string[] | null }>(
    sql`select u.id, u.name, u.role, u.on_shift, u.clients,
          (select array_agg(m.team_id::text) from team_members m where m.user_id = u.id) as team_ids
        from users u where not u.disabled and u.role <> 'viewer' order by u.name`,
  );
  return rows.map((r) => ({ id: r.id, name: r.name, role: r.role, onShift: r.on_shift, clients: r.clients, teamIds: r.team_ids ?? [] }));
}
